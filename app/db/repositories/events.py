"""The event feed. An event's position is (txid, id): the id of the transaction that wrote it,
then its own. Transactions commit in any order, so a reader only gets events whose transaction
is older than the oldest one still running (its snapshot's xmin): every transaction before that
has ended, so no event can appear later before a position already read."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from app.db.repositories.base import Repository
from app.domain.events import Position

# The feed's horizon: events of transactions older than every transaction still running (a
# later one may yet commit events that sort before a younger one's).
HORIZON = "txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

_FEED = text(
    f"""
    SELECT id, txid, type, subject_id, payload, created_at FROM events
    WHERE (txid, id) > (:after_txid, :after_id)
      AND {HORIZON}
      AND (cardinality(CAST(:types AS text[])) = 0 OR type = ANY(CAST(:types AS text[])))
    ORDER BY txid, id
    LIMIT :limit
    """
)


class EventRepository(Repository):
    async def after(self, position: Position, types: Sequence[str], limit: int) -> list[Any]:
        """The events after position (of these types; none: all) whose transactions have
        ended, and before any transaction still running, in feed order."""
        rows = await self.session.execute(
            _FEED,
            {
                "after_txid": position.txid,
                "after_id": position.id,
                "types": list(types),
                "limit": limit,
            },
        )
        return list(rows)
