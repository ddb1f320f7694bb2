"""The only place the wall clock is read. Services read it once per request."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)  # noqa: TID251 - this is the one sanctioned reader
