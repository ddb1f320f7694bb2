from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, tuple_, update

from app.db.mappers import campaign_from_row, rules_to_json
from app.db.models import Campaign as CampaignRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.campaigns import Campaign, CampaignKind, CampaignStatus, Trigger
from app.domain.rules import Rules, Stacking

_COLUMNS = (
    CampaignRow.id,
    CampaignRow.name,
    CampaignRow.status,
    CampaignRow.trigger,
    CampaignRow.kind,
    CampaignRow.rules,
    CampaignRow.priority,
    CampaignRow.is_exclusive,
    CampaignRow.is_line_exclusive,
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
        trigger: Trigger,
        rules: Rules,
        stacking: Stacking,
        starts_at: datetime | None,
        ends_at: datetime | None,
        per_customer_limit: int | None,
        metadata: Mapping[str, object],
        kind: CampaignKind = CampaignKind.STANDARD,
    ) -> Campaign:
        stmt = (
            insert(CampaignRow)
            .values(
                name=name,
                trigger=trigger.value,
                kind=kind.value,
                rules=rules_to_json(rules),
                priority=stacking.priority,
                is_exclusive=stacking.is_exclusive,
                is_line_exclusive=stacking.is_line_exclusive,
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

    async def list_page(
        self,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None,
        status: CampaignStatus | None = None,
        trigger: Trigger | None = None,
        kind: CampaignKind | None = None,
    ) -> list[Campaign]:
        """Oldest first, every filter given holding."""
        stmt = select(*_COLUMNS).order_by(CampaignRow.created_at, CampaignRow.id).limit(limit)
        if status is not None:
            stmt = stmt.where(CampaignRow.status == status.value)
        if trigger is not None:
            stmt = stmt.where(CampaignRow.trigger == trigger.value)
        if kind is not None:
            stmt = stmt.where(CampaignRow.kind == kind.value)
        if after is not None:
            stmt = stmt.where(tuple_(CampaignRow.created_at, CampaignRow.id) > tuple_(*after))
        return [campaign_from_row(row) for row in await self.session.execute(stmt)]

    async def update(self, campaign_id: UUID, changes: Mapping[str, Any]) -> Campaign | None:
        """Apply changes (rules and stacking given as domain values) and bump updated_at."""
        values = dict(changes)
        if "rules" in values:
            values["rules"] = rules_to_json(values["rules"])
        if "stacking" in values:
            stacking: Stacking = values.pop("stacking")
            values["priority"] = stacking.priority
            values["is_exclusive"] = stacking.is_exclusive
            values["is_line_exclusive"] = stacking.is_line_exclusive
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
