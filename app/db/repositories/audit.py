from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, tuple_

from app.db.models import AuditEvent as AuditRow
from app.db.repositories.base import Repository
from app.domain.audit import Action, AuditEntry, AuditEvent

_COLUMNS = (
    AuditRow.id,
    AuditRow.at,
    AuditRow.api_key_id,
    AuditRow.action,
    AuditRow.campaign_id,
    AuditRow.customer_id,
    AuditRow.subject_id,
    AuditRow.reason,
    AuditRow.details,
)


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        entry=AuditEntry(
            action=Action(row.action),
            api_key_id=row.api_key_id,
            campaign_id=row.campaign_id,
            customer_id=row.customer_id,
            subject_id=row.subject_id,
            reason=row.reason,
            details=row.details,
        ),
    )


class AuditRepository(Repository):
    async def record(self, entry: AuditEntry) -> None:
        """Add the event to the caller's transaction: it exists exactly when the write does."""
        await self.session.execute(
            insert(AuditRow).values(
                api_key_id=entry.api_key_id,
                action=entry.action.value,
                campaign_id=entry.campaign_id,
                customer_id=entry.customer_id,
                subject_id=entry.subject_id,
                reason=entry.reason,
                details=dict(entry.details),
            )
        )

    async def list_page(
        self,
        *,
        customer_id: str | None,
        api_key_id: UUID | None,
        campaign_id: UUID | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        before: tuple[datetime, UUID] | None,
    ) -> list[AuditEvent]:
        """Newest first; every filter given must hold."""
        stmt = select(*_COLUMNS).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if customer_id is not None:
            stmt = stmt.where(AuditRow.customer_id == customer_id)
        if api_key_id is not None:
            stmt = stmt.where(AuditRow.api_key_id == api_key_id)
        if campaign_id is not None:
            stmt = stmt.where(AuditRow.campaign_id == campaign_id)
        if since is not None:
            stmt = stmt.where(AuditRow.at >= since)
        if until is not None:
            stmt = stmt.where(AuditRow.at < until)
        if before is not None:
            stmt = stmt.where(tuple_(AuditRow.at, AuditRow.id) < tuple_(*before))
        return [_event(row) for row in await self.session.execute(stmt)]
