"""Reading the audit trail (it is written by each admin and support use case)."""

from datetime import datetime
from uuid import UUID

from app.db.uow import UnitOfWork
from app.domain.audit import AuditEvent


async def list_events(
    uow: UnitOfWork,
    *,
    customer_id: str | None,
    api_key_id: UUID | None,
    campaign_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before: tuple[datetime, UUID] | None,
) -> list[AuditEvent]:
    async with uow:
        return await uow.audit.list_page(
            customer_id=customer_id,
            api_key_id=api_key_id,
            campaign_id=campaign_id,
            since=since,
            until=until,
            limit=limit,
            before=before,
        )
