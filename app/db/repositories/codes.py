import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as UUID_TYPE
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import CompoundSelect

from app.db.errors import CodeBusyError
from app.db.mappers import code_from_row, promotion_from_row
from app.db.models import Campaign as CampaignRow
from app.db.models import CampaignBudget as BudgetRow
from app.db.models import Code as CodeRow
from app.db.models import CodeCounter, CustomerUsage, LedgerEntry, RedemptionItem
from app.db.models import PeriodUse as PeriodUseRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.budgets import REDEMPTIONS
from app.domain.campaigns import CampaignStatus, Code, CodeSource, Trigger
from app.domain.counters import counts_on_row, split_limit
from app.domain.periods import LOOKBACK, Per
from app.domain.qualifications import QUALIFYING_CODES
from app.domain.rules import Promotion

# A code's redemption count: on its own row, or the sum over its counter rows
# (domain/counters.py).
_REDEMPTION_COUNT = func.coalesce(
    CodeRow.used,
    select(func.coalesce(func.sum(CodeCounter.used), 0))
    .where(CodeCounter.code_id == CodeRow.id)
    .scalar_subquery(),
)


def _code_columns(redemption_count: ColumnElement[Any]) -> tuple[Any, ...]:
    return (
        CodeRow.id,
        CodeRow.campaign_id,
        CodeRow.code,
        CodeRow.max_redemptions,
        redemption_count.label("redemption_count"),
        CodeRow.per_customer_limit,
        CodeRow.customer_id,
        CodeRow.expires_at,
        CodeRow.source,
        CodeRow.assigned_at,
        CodeRow.created_at,
        CodeRow.disabled_at,
    )


CODE_COLUMNS = _code_columns(_REDEMPTION_COUNT)
# A new code has used nothing (its counter rows do not exist yet). The count's subquery cannot
# go in an INSERT's RETURNING: it is not correlated there and sums the counters of every code.
_NEW_CODE_COLUMNS = _code_columns(literal(0))


def _customer_count(subject: str, subject_id: InstrumentedAttribute[UUID]) -> ColumnElement[Any]:
    """How often the customer in :customer_id used subject_id; NULL when never (or no customer)."""
    return (
        select(CustomerUsage.redemption_count)
        .where(
            CustomerUsage.subject == subject,
            CustomerUsage.subject_id == subject_id,
            CustomerUsage.customer_id == bindparam("customer_id", type_=String),
        )
        .scalar_subquery()
    )


def _budget_left(unit: ColumnElement[str]) -> ColumnElement[Any]:
    """What the campaign's budget in unit has left; NULL when that unit is not capped."""
    return (
        select(BudgetRow.cap - BudgetRow.used)
        .where(BudgetRow.campaign_id == CampaignRow.id, BudgetRow.unit == unit)
        .scalar_subquery()
    )


def _period_uses(code_id: Any) -> ColumnElement[Any]:
    """The campaign's recent period counters that a redemption of this candidate would add to
    (the campaign's, the code's and :customer_id's), as JSON text; NULL, without looking, for a
    campaign whose rules set no period limits."""
    subjects = [
        PeriodUseRow.per == Per.CAMPAIGN.value,
        and_(
            PeriodUseRow.per == Per.CUSTOMER.value,
            PeriodUseRow.subject == bindparam("customer_id", type_=String),
        ),
    ]
    if code_id is not None:
        subjects.append(
            and_(PeriodUseRow.per == Per.CODE.value, PeriodUseRow.subject == cast(code_id, String))
        )
    since = bindparam("now", type_=DateTime(timezone=True)) - LOOKBACK
    uses = (
        select(
            cast(
                func.json_agg(
                    func.json_build_array(
                        PeriodUseRow.campaign_id,
                        PeriodUseRow.per,
                        PeriodUseRow.subject,
                        PeriodUseRow.period,
                        PeriodUseRow.starts,
                        PeriodUseRow.used,
                    )
                ),
                Text,
            )
        )
        .where(
            PeriodUseRow.campaign_id == CampaignRow.id,
            PeriodUseRow.starts >= since,
            or_(*subjects),
        )
        .scalar_subquery()
    )
    return case((CampaignRow.rules.has_key("periods"), uses), else_=null())


def candidates_statement(*, qualifying: bool = False) -> CompoundSelect[Any]:
    """The requested codes (by normalised text, in :codes) and the automatic promotions live at
    :now, one row each, with the usage counts of :customer_id and what their campaigns' budgets
    have left (redemptions, and money in :currency). qualifying: instead of requested codes,
    those a shopper may be offered: the live codes bound to :customer_id and the public named
    codes of the live advertised campaigns (the newest QUALIFYING_CODES of each). Build it once:
    constructing this statement on every request cost more than running it."""
    campaign_columns = (
        CampaignRow.id.label("campaign_id"),
        CampaignRow.name.label("campaign_name"),
        CampaignRow.status,
        # As text, so the decoded rules can be cached by their exact JSON (mappers.py).
        cast(CampaignRow.rules, Text).label("rules"),
        CampaignRow.priority,
        CampaignRow.is_exclusive,
        CampaignRow.is_line_exclusive,
        CampaignRow.exclusive_conflict,
        CampaignRow.best_of,
        CampaignRow.starts_at,
        CampaignRow.ends_at,
        CampaignRow.per_customer_limit.label("campaign_per_customer_limit"),
        _customer_count("campaign", CampaignRow.id).label("campaign_customer_count"),
        _budget_left(literal(REDEMPTIONS)).label("budget_redemptions_left"),
        _budget_left(bindparam("currency", type_=String)).label("budget_amount_left"),
        CampaignRow.over_budget,
    )
    codes = select(
        *campaign_columns,
        CodeRow.id.label("code_id"),
        CodeRow.code,
        CodeRow.normalised_code,
        CodeRow.max_redemptions,
        _REDEMPTION_COUNT.label("redemption_count"),
        CodeRow.per_customer_limit.label("code_per_customer_limit"),
        CodeRow.customer_id,
        CodeRow.expires_at,
        _customer_count("code", CodeRow.id).label("code_customer_count"),
        CodeRow.disabled_at.is_not(None).label("code_disabled"),
        _period_uses(CodeRow.id).label("period_uses"),
        CodeRow.referrer_id,
        CodeRow.referrer_email_key,
    ).join(CampaignRow, CampaignRow.id == CodeRow.campaign_id)
    now = bindparam("now", type_=DateTime(timezone=True))
    live = (
        CodeRow.disabled_at.is_(None),
        or_(CodeRow.expires_at.is_(None), CodeRow.expires_at > now),
    )
    if qualifying:
        # Two lists, each with its own cap, so that neither crowds out the other.
        bound = codes.where(CodeRow.customer_id == bindparam("customer_id", type_=String), *live)
        advertised = codes.where(
            CampaignRow.advertised,
            CampaignRow.status == CampaignStatus.ACTIVE.value,
            CodeRow.source == CodeSource.NAMED.value,
            CodeRow.customer_id.is_(None),
            *live,
        )
        newest = (CodeRow.created_at.desc(), CodeRow.id)
        offered = [
            bound.order_by(*newest).limit(QUALIFYING_CODES),
            advertised.order_by(*newest).limit(QUALIFYING_CODES),
        ]
    else:
        # = ANY(array) rather than an expanding IN: one statement text (and one prepared
        # statement) whatever the number of codes, and no per-call SQL rendering.
        offered = [
            codes.where(CodeRow.normalised_code == any_(bindparam("codes", type_=ARRAY(String))))
        ]
    nothing = null()
    automatic = select(
        *campaign_columns,
        cast(nothing, UUID_TYPE).label("code_id"),
        cast(nothing, String).label("code"),
        cast(nothing, String).label("normalised_code"),
        cast(nothing, Integer).label("max_redemptions"),
        cast(nothing, Integer).label("redemption_count"),
        cast(nothing, Integer).label("code_per_customer_limit"),
        cast(nothing, String).label("customer_id"),
        cast(nothing, DateTime(timezone=True)).label("expires_at"),
        cast(nothing, Integer).label("code_customer_count"),
        false().label("code_disabled"),
        _period_uses(None).label("period_uses"),
        cast(nothing, String).label("referrer_id"),
        cast(nothing, String).label("referrer_email_key"),
    ).where(
        CampaignRow.trigger == Trigger.AUTOMATIC.value,
        CampaignRow.status == CampaignStatus.ACTIVE.value,
        or_(CampaignRow.starts_at.is_(None), CampaignRow.starts_at <= now),
        or_(CampaignRow.ends_at.is_(None), CampaignRow.ends_at > now),
    )
    return union_all(*offered, automatic)


_CANDIDATES = candidates_statement()


class CodeRepository(Repository):
    async def insert(
        self,
        *,
        campaign_id: UUID,
        code: str,
        normalised_code: str,
        max_redemptions: int | None,
        per_customer_limit: int | None,
        customer_id: str | None,
        expires_at: datetime | None,
        source: CodeSource = CodeSource.NAMED,
        referrer_id: str | None = None,
        referrer_email_key: str | None = None,
    ) -> Code:
        on_row = counts_on_row(source)
        stmt = (
            insert(CodeRow)
            .values(
                source=source.value,
                campaign_id=campaign_id,
                code=code,
                normalised_code=normalised_code,
                max_redemptions=max_redemptions,
                per_customer_limit=per_customer_limit,
                customer_id=customer_id,
                expires_at=expires_at,
                used=0 if on_row else None,
                referrer_id=referrer_id,
                referrer_email_key=referrer_email_key,
            )
            .returning(*_NEW_CODE_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one()
        if not on_row:
            await self.session.execute(
                insert(CodeCounter),
                [
                    {"code_id": row.id, "slot": slot, "capacity": capacity}
                    for slot, capacity in enumerate(split_limit(max_redemptions))
                ],
            )
        return code_from_row(row)

    async def get(self, code_id: UUID) -> Code | None:
        row = (
            await self.session.execute(select(*CODE_COLUMNS).where(CodeRow.id == code_id))
        ).one_or_none()
        return None if row is None else code_from_row(row)

    async def find(self, normalised_code: str) -> Code | None:
        row = (
            await self.session.execute(
                select(*CODE_COLUMNS).where(CodeRow.normalised_code == normalised_code)
            )
        ).one_or_none()
        return None if row is None else code_from_row(row)

    async def set_disabled(self, code_id: UUID, disabled: bool, now: datetime) -> Code | None:
        """Switch the code off (keeping when it was first switched off) or on again; None when
        no code has this id. Redeems that start after this commits see it; the redeem statements
        check it again as they take a use."""
        disabled_at = func.coalesce(CodeRow.disabled_at, now) if disabled else None
        stmt = (
            update(CodeRow)
            .where(CodeRow.id == code_id)
            .values(disabled_at=disabled_at)
            .returning(CodeRow.id)
        )
        if (await self.session.execute(stmt)).first() is None:
            return None
        return await self.get(code_id)

    async def lock(self, code_id: UUID) -> Code | None:
        """The code, with its counter rows locked in slot order and then its own row, the order
        a redeem takes them (db/locking.py): a redeem that holds a counter row finishes first
        and is counted; one that comes later waits, or finds every row held and tries again.
        None when no code has this id."""
        await self.session.execute(_LOCK_COUNTERS, {"code_id": code_id})
        row = (
            await self.session.execute(
                select(*CODE_COLUMNS).where(CodeRow.id == code_id).with_for_update(of=CodeRow)
            )
        ).one_or_none()
        return None if row is None else code_from_row(row)

    async def ever_recorded(self, code_id: UUID) -> bool:
        """Whether anything was recorded against the code: a redemption (even one rolled back)
        or a ledger entry (the spend that bought a reward code)."""
        recorded = or_(
            select(RedemptionItem.redemption_id).where(RedemptionItem.code_id == code_id).exists(),
            select(LedgerEntry.id).where(LedgerEntry.code_id == code_id).exists(),
        )
        return bool((await self.session.execute(select(recorded))).scalar_one())

    async def counter_uses(self, code_id: UUID) -> list[int]:
        """The uses each counter row of a locked code took, by slot (0 for a missing slot)."""
        rows = (
            await self.session.execute(
                select(CodeCounter.slot, CodeCounter.used).where(CodeCounter.code_id == code_id)
            )
        ).all()
        used = [0] * (max((row.slot for row in rows), default=-1) + 1)
        for row in rows:
            used[row.slot] = row.used
        return used

    async def set_counters(self, code_id: UUID, capacities: Sequence[int | None]) -> None:
        """Give a locked code's counter rows these capacities by slot (counters.respread): a
        slot with a capacity gets its row, one with 0 loses its row (it took nothing)."""
        kept = [
            {"code_id": code_id, "slot": slot, "capacity": capacity}
            for slot, capacity in enumerate(capacities)
            if capacity != 0
        ]
        upsert = pg_insert(CodeCounter).values(kept)
        await self.session.execute(
            upsert.on_conflict_do_update(
                index_elements=[CodeCounter.code_id, CodeCounter.slot],
                set_={"capacity": upsert.excluded.capacity},
            )
        )
        await self.session.execute(
            delete(CodeCounter).where(
                CodeCounter.code_id == code_id,
                CodeCounter.slot.in_([slot for slot, c in enumerate(capacities) if c == 0]),
            )
        )

    async def update_terms(self, code_id: UUID, values: Mapping[str, object]) -> None:
        """Set some of a locked code's columns (limit, per-customer limit, customer, expiry)."""
        await self.session.execute(update(CodeRow).where(CodeRow.id == code_id).values(**values))

    async def delete(self, code_id: UUID) -> None:
        """Delete a locked code (its counter rows go with it)."""
        await self.session.execute(delete(CodeRow).where(CodeRow.id == code_id))

    async def list_page(
        self, campaign_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Code]:
        stmt = (
            select(*CODE_COLUMNS)
            .where(CodeRow.campaign_id == campaign_id)
            .order_by(CodeRow.created_at, CodeRow.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(CodeRow.created_at, CodeRow.id) > tuple_(*after))
        return [code_from_row(row) for row in await self.session.execute(stmt)]

    async def load_candidates(
        self,
        normalised_codes: Sequence[str],
        customer_id: str | None,
        currency: str,
        now: datetime,
    ) -> tuple[dict[str, Promotion], list[Promotion]]:
        """The requested codes (by normalised text) and the live automatic promotions, with
        everything the engine needs about them, in one query and one round trip."""
        params = {
            "codes": list(normalised_codes),
            "customer_id": customer_id,
            "currency": currency,
            "now": now,
        }
        by_code: dict[str, Promotion] = {}
        automatic: list[Promotion] = []
        for row in (await self.session.execute(_CANDIDATES, params)).mappings():
            promotion = promotion_from_row(row)
            if row["normalised_code"] is None:
                automatic.append(promotion)
            else:
                by_code[row["normalised_code"]] = promotion
        return by_code, automatic

    async def consume_use(self, code_id: UUID) -> bool:
        """Take one use of the code if it has one left and its campaign is active.

        The use comes from one of the code's counter rows with room left, picked at random
        among those no other transaction holds (SKIP LOCKED), so racing redeems of one code
        do not queue on one row; the row lock is held until the transaction ends. When every
        row with room is held, the redeem waits a little and tries again instead of queueing
        on a row lock: waiting on locks taken in a random order can deadlock, and a locked row
        may turn out to be full. False only when no row has room left (or the campaign is not
        active); CodeBusyError when the rows stayed held for longer than _MAX_WAIT_SECONDS."""
        params = {"code_id": code_id}
        on_row = (await self.session.execute(_CONSUME_ON_ROW, params)).first()
        if on_row is not None:
            return bool(on_row.taken)
        pause = _FIRST_PAUSE_SECONDS
        deadline = time.monotonic() + _MAX_WAIT_SECONDS
        while True:
            if (await self.session.execute(_CONSUME, params)).first() is not None:
                return True
            if not (await self.session.execute(_HAS_ROOM, params)).scalar_one():
                return False
            if time.monotonic() > deadline:
                raise CodeBusyError(str(code_id))
            # Jitter, so that the redeems that found every row held do not return together.
            await asyncio.sleep(random.uniform(0, pause))
            pause = min(pause * 2, _MAX_PAUSE_SECONDS)

    async def release_use(self, code_id: UUID) -> None:
        """Give back one use taken by consume_use (rollback of a redemption), from any of the
        code's counter rows that has one: only the sum of the rows is the code's count. Rows
        are locked in slot order, so concurrent releases cannot deadlock each other."""
        await self.session.execute(_RELEASE, {"code_id": code_id})


_LOCK_COUNTERS = text("SELECT FROM code_counters WHERE code_id = :code_id ORDER BY slot FOR UPDATE")

_FIRST_PAUSE_SECONDS = 0.002
_MAX_PAUSE_SECONDS = 0.05
_MAX_WAIT_SECONDS = 5.0

# The CTE locks one row with room that nobody holds; the UPDATE takes the use only while the
# code's campaign is active, and its own guard repeats the capacity check.
_CONSUME = text(
    """
    WITH pick AS (
        SELECT code_id, slot FROM code_counters
        WHERE code_id = :code_id AND (capacity IS NULL OR used < capacity)
        ORDER BY random()
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE code_counters AS counter SET used = counter.used + 1
    FROM pick, codes, campaigns
    WHERE counter.code_id = pick.code_id AND counter.slot = pick.slot
      AND (counter.capacity IS NULL OR counter.used < counter.capacity)
      AND codes.id = counter.code_id AND codes.disabled_at IS NULL
      AND campaigns.id = codes.campaign_id AND campaigns.status = 'active'
    RETURNING counter.used
    """
)
_HAS_ROOM = text(
    """
    SELECT EXISTS (
        SELECT FROM code_counters AS counter
        JOIN codes ON codes.id = counter.code_id AND codes.disabled_at IS NULL
        JOIN campaigns ON campaigns.id = codes.campaign_id AND campaigns.status = 'active'
        WHERE counter.code_id = :code_id
          AND (counter.capacity IS NULL OR counter.used < counter.capacity)
    )
    """
)
# A code that counts its uses on its row: one guarded UPDATE (the row lock serialises its few
# redeems). No row: the code counts in counter rows. taken is false when no use is left or the
# campaign is not active.
_CONSUME_ON_ROW = text(
    """
    WITH code AS (
        SELECT codes.id, codes.used, codes.max_redemptions, campaigns.status, codes.disabled_at
        FROM codes JOIN campaigns ON campaigns.id = codes.campaign_id
        WHERE codes.id = :code_id AND codes.used IS NOT NULL
    ),
    took AS (
        UPDATE codes SET used = codes.used + 1
        FROM code
        WHERE codes.id = code.id AND code.status = 'active' AND code.disabled_at IS NULL
          AND (codes.max_redemptions IS NULL OR codes.used < codes.max_redemptions)
        RETURNING codes.id
    )
    SELECT EXISTS (SELECT FROM took) AS taken FROM code
    """
)
_RELEASE = text(
    """
    WITH on_row AS (
        UPDATE codes SET used = used - 1 WHERE id = :code_id AND used > 0 RETURNING id
    ),
    pick AS (
        SELECT code_id, slot FROM code_counters
        WHERE code_id = :code_id AND used > 0 AND NOT EXISTS (SELECT FROM on_row)
        ORDER BY slot
        LIMIT 1
        FOR UPDATE
    )
    UPDATE code_counters AS counter SET used = counter.used - 1
    FROM pick
    WHERE counter.code_id = pick.code_id AND counter.slot = pick.slot AND counter.used > 0
    """
)
