"""One way to turn a result into JSON, for the response and for the answer stored for a replay
alike: dataclasses as objects (fields in order), enums as their values, UUIDs as text, and every
timestamp as RFC 3339 in UTC with a 'Z' and microseconds when it has them
(2026-12-01T15:07:09.123456Z), whatever offset it came with."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def timestamp(moment: datetime) -> str:
    """The one timestamp format of every response."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, UUID):  # asyncpg's own UUID subclass, which orjson leaves to us
        return str(value)
    raise TypeError(f"{type(value).__name__} is not rendered as JSON")


def render(value: object) -> bytes:
    """value as JSON bytes."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def plain(value: object) -> Any:
    """value as the plain JSON values it renders to (dicts, lists, strings, numbers)."""
    return orjson.loads(render(value))
