from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.mappers import code_from_row
from app.db.models import Campaign as CampaignRow
from app.db.models import Code as CodeRow
from app.db.models import CodeCounter, IssuingLimit
from app.db.models import VerdictLog as VerdictRow
from app.db.repositories.base import Repository
from app.db.repositories.codes import CODE_COLUMNS
from app.domain.campaigns import CampaignStatus, Code
from app.domain.reasons import Reason
from app.domain.support import IssuingLimits
from app.domain.verdicts import LoggedVerdict, VerdictSource

_LIMIT_COLUMNS = (
    IssuingLimit.api_key_id,
    IssuingLimit.currency,
    IssuingLimit.max_code_amount,
    IssuingLimit.max_code_basis_points,
    IssuingLimit.daily_amount,
)


def _limits(row: Any) -> IssuingLimits:
    return IssuingLimits(
        api_key_id=row.api_key_id,
        currency=row.currency,
        max_code_amount=row.max_code_amount,
        max_code_basis_points=row.max_code_basis_points,
        daily_amount=row.daily_amount,
    )


# Add to the key's total for the day unless that would pass its daily limit; no row back means
# refused. The upsert locks the day's row, so concurrent issues are counted one after another.
_ADD_ISSUED = text(
    """
INSERT INTO issued_totals AS total (api_key_id, day, amount)
SELECT CAST(:api_key_id AS uuid), CAST(:day AS date), CAST(:amount AS bigint)
WHERE CAST(:amount AS bigint) <= CAST(:daily_limit AS bigint)
ON CONFLICT (api_key_id, day) DO UPDATE SET amount = total.amount + excluded.amount
WHERE total.amount + excluded.amount <= CAST(:daily_limit AS bigint)
RETURNING amount
"""
)


class SupportRepository(Repository):
    async def limits(self, api_key_id: UUID) -> IssuingLimits | None:
        row = (
            await self.session.execute(
                select(*_LIMIT_COLUMNS).where(IssuingLimit.api_key_id == api_key_id)
            )
        ).one_or_none()
        return None if row is None else _limits(row)

    async def set_limits(self, limits: IssuingLimits) -> IssuingLimits:
        values = {
            "api_key_id": limits.api_key_id,
            "currency": limits.currency,
            "max_code_amount": limits.max_code_amount,
            "max_code_basis_points": limits.max_code_basis_points,
            "daily_amount": limits.daily_amount,
        }
        upsert = pg_insert(IssuingLimit).values(values)
        stmt = upsert.on_conflict_do_update(
            index_elements=[IssuingLimit.api_key_id],
            set_={
                **{k: v for k, v in values.items() if k != "api_key_id"},
                "updated_at": func.now(),
            },
        ).returning(*_LIMIT_COLUMNS)
        return _limits((await self.session.execute(stmt)).one())

    async def add_issued(
        self, api_key_id: UUID, day: date, amount: int, daily_limit: int
    ) -> int | None:
        """The day's new total, or None when amount would take it past daily_limit."""
        params = {
            "api_key_id": api_key_id,
            "day": day,
            "amount": amount,
            "daily_limit": daily_limit,
        }
        total: int | None = (await self.session.execute(_ADD_ISSUED, params)).scalar_one_or_none()
        return total

    async def log_verdicts(self, verdicts: Sequence[LoggedVerdict], api_key_id: UUID) -> None:
        """Log refused codes for support (CheckoutWrites.record_verdicts, in a transaction)."""
        if not verdicts:
            return
        await self.session.execute(
            insert(VerdictRow),
            [
                {
                    "customer_id": v.customer_id,
                    "at": v.at,
                    "source": v.source.value,
                    "code": v.code,
                    "reason": v.reason.value,
                    "campaign_id": v.campaign_id,
                    "api_key_id": api_key_id,
                }
                for v in verdicts
            ],
        )

    async def recent_verdicts(
        self, customer_id: str, *, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[tuple[UUID, LoggedVerdict]]:
        """The customer's logged refusals, newest first, with their ids (for the cursor)."""
        stmt = (
            select(VerdictRow)
            .where(VerdictRow.customer_id == customer_id)
            .order_by(VerdictRow.at.desc(), VerdictRow.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(tuple_(VerdictRow.at, VerdictRow.id) < tuple_(*before))
        return [
            (
                row.id,
                LoggedVerdict(
                    row.customer_id,
                    row.at,
                    VerdictSource(row.source),
                    row.code,
                    Reason(row.reason),
                    row.campaign_id,
                ),
            )
            for row in (await self.session.execute(stmt)).scalars()
        ]

    async def available_codes(self, customer_id: str, now: datetime) -> list[tuple[Code, str]]:
        """The codes bound to the customer that could still be used now, with their campaign's
        name: enabled, unexpired, with uses left, in an active campaign that has not ended."""
        # Counted on the code's row, or in counter rows (domain/counters.py).
        left_on_row = and_(
            CodeRow.used.is_not(None),
            or_(CodeRow.max_redemptions.is_(None), CodeRow.used < CodeRow.max_redemptions),
        )
        left_in_counters = (
            select(CodeCounter.code_id)
            .where(
                CodeCounter.code_id == CodeRow.id,
                or_(CodeCounter.capacity.is_(None), CodeCounter.used < CodeCounter.capacity),
            )
            .exists()
        )
        uses_left = or_(left_on_row, left_in_counters)
        stmt = (
            select(*CODE_COLUMNS, CampaignRow.name.label("campaign_name"))
            .join(CampaignRow, CampaignRow.id == CodeRow.campaign_id)
            .where(
                CodeRow.customer_id == customer_id,
                CodeRow.disabled_at.is_(None),
                or_(CodeRow.expires_at.is_(None), CodeRow.expires_at > now),
                CampaignRow.status == CampaignStatus.ACTIVE.value,
                or_(CampaignRow.ends_at.is_(None), CampaignRow.ends_at > now),
                uses_left,
            )
            .order_by(CodeRow.expires_at.asc().nulls_last(), CodeRow.created_at, CodeRow.id)
            .limit(100)
        )
        return [(code_from_row(row), row.campaign_name) for row in await self.session.execute(stmt)]
