from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, tuple_, update

from app.db.mappers import benefit_to_json, campaign_from_row
from app.db.models import Campaign as CampaignRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.campaigns import Campaign, CampaignStatus
from app.domain.rules import Benefit

_COLUMNS = (
    CampaignRow.id,
    CampaignRow.name,
    CampaignRow.status,
    CampaignRow.currency,
    CampaignRow.discount,
    CampaignRow.min_subtotal_amount,
    CampaignRow.starts_at,
    CampaignRow.ends_at,
    CampaignRow.per_customer_limit,
    CampaignRow.metadata_.label("metadata"),
    CampaignRow.created_at,
    CampaignRow.updated_at,
)


class CampaignRepository(Repository):
    async def insert(
        self,
        *,
        name: str,
        currency: str | None,
        benefit: Benefit,
        min_subtotal_amount: int | None,
        starts_at: datetime | None,
        ends_at: datetime | None,
        per_customer_limit: int | None,
        metadata: Mapping[str, object],
    ) -> Campaign:
        stmt = (
            insert(CampaignRow)
            .values(
                name=name,
                currency=currency,
                discount=benefit_to_json(benefit),
                min_subtotal_amount=min_subtotal_amount,
                starts_at=starts_at,
                ends_at=ends_at,
                per_customer_limit=per_customer_limit,
                metadata_=dict(metadata),
            )
            .returning(*_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one()
        return campaign_from_row(row)

    async def get(self, campaign_id: UUID, *, for_update: bool = False) -> Campaign | None:
        stmt = select(*_COLUMNS).where(CampaignRow.id == campaign_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else campaign_from_row(row)

    async def list_page(self, *, limit: int, after: tuple[datetime, UUID] | None) -> list[Campaign]:
        stmt = select(*_COLUMNS).order_by(CampaignRow.created_at, CampaignRow.id).limit(limit)
        if after is not None:
            stmt = stmt.where(tuple_(CampaignRow.created_at, CampaignRow.id) > tuple_(*after))
        return [campaign_from_row(row) for row in await self.session.execute(stmt)]

    async def update(self, campaign_id: UUID, changes: Mapping[str, Any]) -> Campaign | None:
        """Apply column changes (benefit given as a domain value) and bump updated_at."""
        values = dict(changes)
        if "benefit" in values:
            values["discount"] = benefit_to_json(values.pop("benefit"))
        if "metadata" in values:
            values["metadata_"] = dict(values.pop("metadata"))
        stmt = (
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id)
            .values(**values, updated_at=func.now())
            .returning(*_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else campaign_from_row(row)

    async def set_status(self, campaign_id: UUID, status: CampaignStatus) -> Campaign | None:
        return await self.update(campaign_id, {"status": status.value})
