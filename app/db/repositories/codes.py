from collections.abc import Sequence
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
    cast,
    insert,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as UUID_TYPE
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import CompoundSelect

from app.db.mappers import code_from_row, promotion_from_row
from app.db.models import Campaign as CampaignRow
from app.db.models import Code as CodeRow
from app.db.models import CustomerUsage
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.campaigns import CampaignStatus, Code, Trigger
from app.domain.rules import Promotion

_COLUMNS = (
    CodeRow.id,
    CodeRow.campaign_id,
    CodeRow.code,
    CodeRow.max_redemptions,
    CodeRow.redemption_count,
    CodeRow.per_customer_limit,
    CodeRow.customer_id,
    CodeRow.expires_at,
    CodeRow.created_at,
)


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


def candidates_statement() -> CompoundSelect[Any]:
    """The requested codes (by normalised text, in :codes) and the automatic promotions live at
    :now, one row each, with the usage counts of :customer_id. Build it once: constructing this
    statement on every request cost more than running it."""
    campaign_columns = (
        CampaignRow.id.label("campaign_id"),
        CampaignRow.name.label("campaign_name"),
        CampaignRow.status,
        # As text, so the decoded rules can be cached by their exact JSON (mappers.py).
        cast(CampaignRow.rules, Text).label("rules"),
        CampaignRow.priority,
        CampaignRow.is_exclusive,
        CampaignRow.is_line_exclusive,
        CampaignRow.starts_at,
        CampaignRow.ends_at,
        CampaignRow.per_customer_limit.label("campaign_per_customer_limit"),
        _customer_count("campaign", CampaignRow.id).label("campaign_customer_count"),
    )
    codes = (
        select(
            *campaign_columns,
            CodeRow.id.label("code_id"),
            CodeRow.code,
            CodeRow.normalised_code,
            CodeRow.max_redemptions,
            CodeRow.redemption_count,
            CodeRow.per_customer_limit.label("code_per_customer_limit"),
            CodeRow.customer_id,
            CodeRow.expires_at,
            _customer_count("code", CodeRow.id).label("code_customer_count"),
        )
        .join(CampaignRow, CampaignRow.id == CodeRow.campaign_id)
        # = ANY(array) rather than an expanding IN: one statement text (and one prepared
        # statement) whatever the number of codes, and no per-call SQL rendering.
        .where(CodeRow.normalised_code == any_(bindparam("codes", type_=ARRAY(String))))
    )
    nothing = null()
    now = bindparam("now", type_=DateTime(timezone=True))
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
    ).where(
        CampaignRow.trigger == Trigger.AUTOMATIC.value,
        CampaignRow.status == CampaignStatus.ACTIVE.value,
        or_(CampaignRow.starts_at.is_(None), CampaignRow.starts_at <= now),
        or_(CampaignRow.ends_at.is_(None), CampaignRow.ends_at > now),
    )
    return union_all(codes, automatic)


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
    ) -> Code:
        stmt = (
            insert(CodeRow)
            .values(
                campaign_id=campaign_id,
                code=code,
                normalised_code=normalised_code,
                max_redemptions=max_redemptions,
                per_customer_limit=per_customer_limit,
                customer_id=customer_id,
                expires_at=expires_at,
            )
            .returning(*_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one()
        return code_from_row(row)

    async def get(self, code_id: UUID) -> Code | None:
        row = (
            await self.session.execute(select(*_COLUMNS).where(CodeRow.id == code_id))
        ).one_or_none()
        return None if row is None else code_from_row(row)

    async def list_page(
        self, campaign_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Code]:
        stmt = (
            select(*_COLUMNS)
            .where(CodeRow.campaign_id == campaign_id)
            .order_by(CodeRow.created_at, CodeRow.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(CodeRow.created_at, CodeRow.id) > tuple_(*after))
        return [code_from_row(row) for row in await self.session.execute(stmt)]

    async def load_candidates(
        self, normalised_codes: Sequence[str], customer_id: str | None, now: datetime
    ) -> tuple[dict[str, Promotion], list[Promotion]]:
        """The requested codes (by normalised text) and the live automatic promotions, with
        everything the engine needs about them, in one query and one round trip."""
        params = {"codes": list(normalised_codes), "customer_id": customer_id, "now": now}
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
        """Take one use of the code if it has one left and its campaign is active. The row lock
        is held until the transaction ends; concurrent callers queue and re-check the limit."""
        stmt = (
            update(CodeRow)
            .where(
                CodeRow.id == code_id,
                (CodeRow.max_redemptions.is_(None))
                | (CodeRow.redemption_count < CodeRow.max_redemptions),
                CodeRow.campaign_id == CampaignRow.id,
                CampaignRow.status == "active",
            )
            .values(redemption_count=CodeRow.redemption_count + 1)
            .returning(CodeRow.redemption_count)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def release_use(self, code_id: UUID) -> None:
        """Give back one use taken by consume_use (rollback of a redemption)."""
        await self.session.execute(
            update(CodeRow)
            .where(and_(CodeRow.id == code_id, CodeRow.redemption_count > 0))
            .values(redemption_count=CodeRow.redemption_count - 1)
        )
