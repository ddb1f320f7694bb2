"""Opaque keyset cursors over (created_at, id)."""

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query

from app.api.schemas.common import QUERY_INTEGER
from app.services.errors import InvalidCursor

LimitQuery = Annotated[int, Query(ge=1, le=200, description="Page size"), QUERY_INTEGER]
CursorQuery = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page")
]


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, row_id = raw.split("|")
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        # In UTC, as the database compares it: 0001-01-01T00:00+01:00 is before year 1.
        return moment.astimezone(UTC), UUID(row_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("Pass back a 'next_cursor' exactly as a list returned it.") from exc
