"""The event feed (GET /v1/events): events in the order a reader can rely on, with a cursor
to come back with (db/repositories/events.py says why it never skips one)."""

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from app.db.uow import UnitOfWork
from app.domain.events import START, Event, Position
from app.services.errors import InvalidCursor


def encode_position(position: Position) -> str:
    raw = f"{position.txid}.{position.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str | None) -> Position:
    if cursor is None:
        return START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        txid, event_id = raw.split(".")
        if not (txid.isdigit() and event_id.isdigit()):
            raise ValueError(raw)
        position = Position(int(txid), int(event_id))
        if max(position.txid, position.id) >= 2**63:
            raise ValueError(raw)
        return position
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("Pass back a 'cursor' exactly as the feed returned it.") from exc


def event_of(row: Any) -> Event:
    return Event(
        id=row.id,
        type=row.type,
        subject_id=row.subject_id,
        data=row.payload,
        created_at=row.created_at,
        cursor=encode_position(Position(row.txid, row.id)),
    )


async def events_after(
    uow: UnitOfWork, after: str | None, types: Sequence[str], limit: int
) -> tuple[list[Event], str | None]:
    """A page of the feed after the cursor, and the cursor to ask from next (the last event's;
    with no event, the one given)."""
    position = decode_position(after)
    async with uow:
        rows = await uow.events.after(position, types, limit)
    events = [event_of(row) for row in rows]
    return events, events[-1].cursor if events else after
