"""How use cases write timestamps into the JSON bodies they build (app/rendering.py renders
typed results the same way)."""

from datetime import datetime

from app.rendering import timestamp as _timestamp


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a 'Z', as every response renders timestamps; None stays None."""
    return None if moment is None else _timestamp(moment)
