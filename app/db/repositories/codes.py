from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, insert, literal, select, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute

from app.db.mappers import code_from_row, promotion_from_row
from app.db.models import Campaign as CampaignRow
from app.db.models import Code as CodeRow
from app.db.models import CustomerUsage
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.campaigns import Code
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


def _customer_count(
    subject: str, subject_id: InstrumentedAttribute[UUID], customer_id: str | None
) -> ColumnElement[Any]:
    if customer_id is None:
        return literal(None)
    return (
        select(CustomerUsage.redemption_count)
        .where(
            CustomerUsage.subject == subject,
            CustomerUsage.subject_id == subject_id,
            CustomerUsage.customer_id == customer_id,
        )
        .scalar_subquery()
    )


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

    async def load_promotions(
        self, normalised_codes: Sequence[str], customer_id: str | None
    ) -> dict[str, Promotion]:
        """Everything the engine needs about these codes, in one query and one round trip."""
        if not normalised_codes:
            return {}
        stmt = (
            select(
                *_COLUMNS,
                CodeRow.normalised_code,
                CampaignRow.status,
                CampaignRow.currency,
                CampaignRow.discount,
                CampaignRow.min_subtotal_amount,
                CampaignRow.starts_at,
                CampaignRow.ends_at,
                CampaignRow.per_customer_limit.label("campaign_per_customer_limit"),
                _customer_count("code", CodeRow.id, customer_id).label("code_customer_count"),
                _customer_count("campaign", CampaignRow.id, customer_id).label(
                    "campaign_customer_count"
                ),
            )
            .join(CampaignRow, CampaignRow.id == CodeRow.campaign_id)
            .where(CodeRow.normalised_code.in_(list(normalised_codes)))
        )
        rows = await self.session.execute(stmt)
        return {row.normalised_code: promotion_from_row(row) for row in rows}

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
