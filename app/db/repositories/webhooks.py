"""Webhook endpoints and their deliveries. A worker fans the event feed out to endpoints (each
endpoint's row locked, SKIP LOCKED, so two workers never fan one endpoint out twice) and
claims due deliveries with a lease (SKIP LOCKED again): a worker that dies mid-delivery leaves
the delivery to be claimed again once the lease ends."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import Event as EventRow
from app.db.models import WebhookDelivery as DeliveryRow
from app.db.models import WebhookEndpoint as EndpointRow
from app.db.repositories.base import Repository
from app.db.repositories.events import HORIZON
from app.domain.events import Position


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: UUID
    url: str
    types: tuple[str, ...]
    secret: str
    status: str
    position: Position
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: UUID
    endpoint_id: UUID
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt: where to, with what, and the event."""

    id: UUID
    attempts: int
    claim: int
    """Which claim of the delivery this is: only it may record the attempt's outcome."""
    url: str
    secret: str
    event: SimpleNamespace
    """The event's columns (id, txid, type, subject_id, payload, created_at)."""


_ENDPOINT_COLUMNS = (
    EndpointRow.id,
    EndpointRow.url,
    EndpointRow.types,
    EndpointRow.secret,
    EndpointRow.status,
    EndpointRow.after_txid,
    EndpointRow.after_id,
    EndpointRow.created_at,
)

_DELIVERY_COLUMNS = (
    DeliveryRow.id,
    DeliveryRow.endpoint_id,
    DeliveryRow.event_id,
    EventRow.type.label("event_type"),
    DeliveryRow.status,
    DeliveryRow.attempts,
    DeliveryRow.next_attempt_at,
    DeliveryRow.last_attempt_at,
    DeliveryRow.last_status,
    DeliveryRow.last_error,
    DeliveryRow.delivered_at,
    DeliveryRow.created_at,
)

# Where the feed ends now: the last event whose transaction is older than every running one
# (an endpoint made now gets the events after it).
_FEED_END = text(
    f"""
    SELECT txid, id FROM events
    WHERE {HORIZON}
    ORDER BY txid DESC, id DESC
    LIMIT 1
    """
)

# Due deliveries of active endpoints, each claimed for one attempt until :lease_until.
_CLAIM = text(
    """
    UPDATE webhook_deliveries AS d
    SET attempts = d.attempts + 1, claims = d.claims + 1, last_attempt_at = :now,
        next_attempt_at = :lease_until
    FROM (
        SELECT d.id FROM webhook_deliveries AS d
        JOIN webhook_endpoints AS e ON e.id = d.endpoint_id AND e.status = 'active'
        WHERE d.status = 'pending' AND d.next_attempt_at <= :now
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    ) AS due, webhook_endpoints AS e, events AS ev
    WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
    RETURNING d.id, d.attempts, d.claims, e.url, e.secret, ev.id AS event_id, ev.txid, ev.type,
              ev.subject_id, ev.payload, ev.created_at AS event_created_at
    """
)


def _endpoint(row: Any) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        url=row.url,
        types=tuple(row.types),
        secret=row.secret,
        status=row.status,
        position=Position(row.after_txid, row.after_id),
        created_at=row.created_at,
    )


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(**row._mapping)


class WebhookRepository(Repository):
    async def feed_end(self) -> Position:
        row = (await self.session.execute(_FEED_END)).one_or_none()
        return Position(0, 0) if row is None else Position(row.txid, row.id)

    async def create(
        self, url: str, types: Sequence[str], secret: str, start: Position
    ) -> EndpointRecord:
        row = (
            await self.session.execute(
                insert(EndpointRow)
                .values(
                    url=url,
                    types=list(types),
                    secret=secret,
                    after_txid=start.txid,
                    after_id=start.id,
                )
                .returning(*_ENDPOINT_COLUMNS)
            )
        ).one()
        return _endpoint(row)

    async def get(self, endpoint_id: UUID) -> EndpointRecord | None:
        row = (
            await self.session.execute(
                select(*_ENDPOINT_COLUMNS).where(EndpointRow.id == endpoint_id)
            )
        ).one_or_none()
        return None if row is None else _endpoint(row)

    async def all(self) -> list[EndpointRecord]:
        rows = await self.session.execute(
            select(*_ENDPOINT_COLUMNS).order_by(EndpointRow.created_at, EndpointRow.id)
        )
        return [_endpoint(row) for row in rows]

    async def set_status(self, endpoint_id: UUID, status: str) -> EndpointRecord | None:
        row = (
            await self.session.execute(
                update(EndpointRow)
                .where(EndpointRow.id == endpoint_id)
                .values(status=status)
                .returning(*_ENDPOINT_COLUMNS)
            )
        ).one_or_none()
        return None if row is None else _endpoint(row)

    async def lock_for_fan_out(self) -> list[EndpointRecord]:
        """Active endpoints no other worker is fanning out, locked until commit (all of
        them: endpoints are few, made by hand)."""
        rows = await self.session.execute(
            select(*_ENDPOINT_COLUMNS)
            .where(EndpointRow.status == "active")
            .order_by(EndpointRow.id)
            .with_for_update(skip_locked=True)
        )
        return [_endpoint(row) for row in rows]

    async def add_deliveries(
        self, endpoint_id: UUID, event_ids: Sequence[int], now: datetime
    ) -> None:
        if event_ids:
            await self.session.execute(
                pg_insert(DeliveryRow)
                .values(
                    [
                        {"endpoint_id": endpoint_id, "event_id": event_id, "next_attempt_at": now}
                        for event_id in event_ids
                    ]
                )
                .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            )

    async def advance(self, endpoint_id: UUID, position: Position) -> None:
        await self.session.execute(
            update(EndpointRow)
            .where(EndpointRow.id == endpoint_id)
            .values(after_txid=position.txid, after_id=position.id)
        )

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        rows = await self.session.execute(
            _CLAIM, {"now": now, "lease_until": lease_until, "limit": limit}
        )
        return [
            Claimed(
                row.id,
                row.attempts,
                row.claims,
                row.url,
                row.secret,
                SimpleNamespace(
                    id=row.event_id,
                    txid=row.txid,
                    type=row.type,
                    subject_id=row.subject_id,
                    payload=row.payload,
                    created_at=row.event_created_at,
                ),
            )
            for row in rows
        ]

    async def record_attempt(
        self,
        delivery_id: UUID,
        claim: int,
        *,
        status: str,
        next_attempt_at: datetime | None,
        last_status: int | None,
        last_error: str | None,
        delivered_at: datetime | None,
    ) -> None:
        """What the attempt of this claim came to (only if the delivery was not claimed again
        since: a lease that ran out, or a replay)."""
        values: dict[str, Any] = {
            "status": status,
            "last_status": last_status,
            "last_error": last_error,
            "delivered_at": delivered_at,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        await self.session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.claims == claim)
            .values(**values)
        )

    async def deliveries(
        self, endpoint_id: UUID, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[DeliveryRecord]:
        """The endpoint's deliveries, newest first."""
        stmt = (
            select(*_DELIVERY_COLUMNS)
            .join(EventRow, EventRow.id == DeliveryRow.event_id)
            .where(DeliveryRow.endpoint_id == endpoint_id)
            .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(tuple_(DeliveryRow.created_at, DeliveryRow.id) < tuple_(*before))
        return [_delivery(row) for row in await self.session.execute(stmt)]

    async def replay(self, delivery_id: UUID, now: datetime) -> DeliveryRecord | None:
        """Send a delivery again as soon as a worker can (whatever it came to)."""
        found = (
            await self.session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(
                    status="pending",
                    next_attempt_at=now,
                    attempts=0,
                    # An attempt in flight no longer records what it came to.
                    claims=DeliveryRow.claims + 1,
                )
                .returning(DeliveryRow.id)
            )
        ).one_or_none()
        if found is None:
            return None
        row = (
            await self.session.execute(
                select(*_DELIVERY_COLUMNS)
                .join(EventRow, EventRow.id == DeliveryRow.event_id)
                .where(DeliveryRow.id == delivery_id)
            )
        ).one()
        return _delivery(row)
