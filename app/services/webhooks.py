"""Webhooks: endpoints an admin registers, and the worker's two jobs, both safe to run in
several workers at once (db/repositories/webhooks.py): fanning the event feed out into one
delivery per event and endpoint, and sending due deliveries, each signed
(domain/webhooks.py), tried again with backoff until the receiver answers 2xx. Deliveries are
at least once: a worker that dies after sending and before recording sends again later."""

import asyncio
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import httpx

from app.clock import utc_now
from app.db.repositories.webhooks import Claimed, DeliveryRecord, EndpointRecord
from app.db.uow import UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.events import EventType, Position
from app.domain.webhooks import retry_after, signature
from app.rendering import render
from app.services.errors import WebhookDeliveryNotFound, WebhookNotFound
from app.services.events import event_of

# A claimed delivery is another worker's to try again once this has passed.
LEASE = timedelta(minutes=2)
# Each read and the connection are bounded, and so is the whole attempt, well inside the lease.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SEND_LIMIT = timedelta(seconds=30)
# What a delivery's log keeps of a refusal's body.
ERROR_BYTES = 300


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: UUID
    url: str
    types: tuple[str, ...]
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEndpoint(Endpoint):
    secret: str
    """Shown once, when the endpoint is made: receivers verify signatures with it."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    endpoint_id: UUID
    event_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def _endpoint(record: EndpointRecord) -> Endpoint:
    return Endpoint(record.id, record.url, record.types, record.status, record.created_at)


def _delivery(record: DeliveryRecord) -> Delivery:
    return Delivery(
        id=record.id,
        endpoint_id=record.endpoint_id,
        event_id=record.event_id,
        event_type=record.event_type,
        status=record.status,
        attempts=record.attempts,
        next_attempt_at=record.next_attempt_at if record.status == "pending" else None,
        last_attempt_at=record.last_attempt_at,
        last_status=record.last_status,
        last_error=record.last_error,
        delivered_at=record.delivered_at,
        created_at=record.created_at,
    )


async def create_endpoint(
    uow: UnitOfWork, url: str, types: Sequence[EventType], actor: UUID
) -> NewEndpoint:
    """An endpoint that gets the events committed from now on (of these types; none: all)."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    async with uow:
        start = await uow.webhooks.feed_end()
        record = await uow.webhooks.create(url, sorted(set(types)), secret, start)
        await uow.audit.record(
            AuditEntry(
                Action.WEBHOOK_ENDPOINT_CREATED,
                actor,
                subject_id=record.id,
                details={"url": url, "types": list(record.types)},
            )
        )
        await uow.commit()
    return NewEndpoint(
        record.id, record.url, record.types, record.status, record.created_at, secret=secret
    )


async def list_endpoints(uow: UnitOfWork) -> list[Endpoint]:
    async with uow:
        return [_endpoint(record) for record in await uow.webhooks.all()]


async def set_status(uow: UnitOfWork, endpoint_id: UUID, status: str, actor: UUID) -> Endpoint:
    """Disable an endpoint (its deliveries wait) or enable it again."""
    async with uow:
        record = await uow.webhooks.set_status(endpoint_id, status)
        if record is None:
            raise WebhookNotFound(f"No webhook endpoint has id {endpoint_id}.")
        action = (
            Action.WEBHOOK_ENDPOINT_DISABLED
            if status == "disabled"
            else Action.WEBHOOK_ENDPOINT_ENABLED
        )
        await uow.audit.record(AuditEntry(action, actor, subject_id=endpoint_id))
        await uow.commit()
    return _endpoint(record)


async def deliveries(
    uow: UnitOfWork, endpoint_id: UUID, limit: int, before: tuple[datetime, UUID] | None
) -> list[Delivery]:
    async with uow:
        if await uow.webhooks.get(endpoint_id) is None:
            raise WebhookNotFound(f"No webhook endpoint has id {endpoint_id}.")
        return [_delivery(r) for r in await uow.webhooks.deliveries(endpoint_id, limit, before)]


async def replay(uow: UnitOfWork, delivery_id: UUID, now: datetime, actor: UUID) -> Delivery:
    """Send a delivery again (delivered, failed or pending alike), as soon as a worker can."""
    async with uow:
        record = await uow.webhooks.replay(delivery_id, now)
        if record is None:
            raise WebhookDeliveryNotFound(f"No webhook delivery has id {delivery_id}.")
        await uow.audit.record(
            AuditEntry(
                Action.WEBHOOK_DELIVERY_REPLAYED,
                actor,
                subject_id=delivery_id,
                details={"endpoint_id": str(record.endpoint_id), "event_id": record.event_id},
            )
        )
        await uow.commit()
    return _delivery(record)


async def fan_out(uow: UnitOfWork, now: datetime, batch: int = 500) -> int:
    """Make the deliveries of the events that follow each endpoint's position, and move it
    on (one transaction; endpoints another worker holds are skipped). How many events it
    went through (made into deliveries or not), so that a worker behind keeps going."""
    scanned = 0
    async with uow:
        for endpoint in await uow.webhooks.lock_for_fan_out():
            rows = await uow.events.after(endpoint.position, (), batch)
            if not rows:
                continue
            wanted = [r.id for r in rows if not endpoint.types or r.type in endpoint.types]
            await uow.webhooks.add_deliveries(endpoint.id, wanted, now)
            await uow.webhooks.advance(endpoint.id, Position(rows[-1].txid, rows[-1].id))
            scanned += len(rows)
        await uow.commit()
    return scanned


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: int
    failed: int


async def deliver_due(
    new_uow: Callable[[], UnitOfWork],
    client: httpx.AsyncClient,
    now: datetime,
    batch: int = 50,
    jitter: Callable[[], int] = lambda: random.randrange(1000),
) -> Outcome:
    """Claim the due deliveries (committed at once, so the claim outlives this worker), send
    them all at once, and record what each came to."""
    async with (uow := new_uow()):
        claimed = await uow.webhooks.claim_due(now, now + LEASE, batch)
        await uow.commit()
    if not claimed:
        return Outcome(0, 0)
    results = await asyncio.gather(*(_send(client, delivery) for delivery in claimed))
    delivered = 0
    async with (uow := new_uow()):
        for delivery, (status, error) in zip(claimed, results, strict=True):
            ok = status is not None and 200 <= status < 300
            delivered += ok
            wait = None if ok else retry_after(delivery.attempts, jitter())
            await uow.webhooks.record_attempt(
                delivery.id,
                delivery.claim,
                status="delivered" if ok else "pending" if wait is not None else "failed",
                next_attempt_at=None if wait is None else now + wait,
                last_status=status,
                last_error=error,
                delivered_at=now if ok else None,
            )
        await uow.commit()
    return Outcome(delivered, len(claimed) - delivered)


async def _send(client: httpx.AsyncClient, delivery: Claimed) -> tuple[int | None, str | None]:
    """One attempt: the receiver's status (None if it never answered in SEND_LIMIT) and what
    went wrong. Whatever the receiver does is this delivery's failure, never the round's."""
    body = render(event_of(delivery.event))
    timestamp = int(utc_now().timestamp())  # the real time: receivers check it
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tessera-Webhooks/1",
        "Tessera-Event-Id": str(delivery.event.id),
        "Tessera-Event-Type": delivery.event.type,
        "Tessera-Delivery-Id": str(delivery.id),
        "Tessera-Timestamp": str(timestamp),
        "Tessera-Signature": signature(delivery.secret, timestamp, body),
    }
    try:
        async with asyncio.timeout(SEND_LIMIT.total_seconds()):
            request = client.build_request(
                "POST", delivery.url, content=body, headers=headers, timeout=TIMEOUT
            )
            response = await client.send(request, stream=True)
            try:
                if 200 <= response.status_code < 300:
                    return response.status_code, None
                # What it said, at most ERROR_BYTES of it, as text whatever its encoding.
                said = b""
                async for chunk in response.aiter_raw():
                    said += chunk
                    if len(said) >= ERROR_BYTES:
                        break
                text = said[:ERROR_BYTES].decode("utf-8", "replace")
                return response.status_code, f"HTTP {response.status_code}: {text}"
            finally:
                await response.aclose()
    except TimeoutError:
        return None, f"No answer within {int(SEND_LIMIT.total_seconds())} s."
    except Exception as failed:
        return None, f"{type(failed).__name__}: {failed}"[:500]
