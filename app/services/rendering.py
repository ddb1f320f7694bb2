"""How use cases write values into the JSON bodies they return and store for replays."""

from datetime import datetime


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset the database gave (RFC 3339), or None."""
    return None if moment is None else moment.isoformat()
