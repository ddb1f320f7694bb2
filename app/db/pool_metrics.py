"""Connection-pool metrics: connections in use, and checkouts that had to wait for one."""

from time import perf_counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from app import metrics

# In the connection record's record_info (kept for the record's life, across reconnects): the
# checkout was counted, so exactly one checkin or detach takes it off again.
_COUNTED = "tessera_counted_in_use"


class MeteredPool(AsyncAdaptedQueuePool):
    """The async queue pool, timing the checkouts that find no idle connection (they wait for
    one to come back, or open one). SQLAlchemy has no event before a checkout, so this
    overrides the one method that hands connections out; one with an idle connection at hand
    pays a size check."""

    def _do_get(self) -> ConnectionPoolEntry:
        if self.checkedin():
            return super()._do_get()
        started = perf_counter()
        try:
            return super()._do_get()
        finally:
            metrics.pool_waited(perf_counter() - started)


def _checked_out(_: Any, record: ConnectionPoolEntry, __: Any) -> None:
    info = record.record_info
    if info is not None:  # None only for a connection detached from its pool
        info[_COUNTED] = True
        metrics.connection_checked_out()


def _returned(_: Any, record: ConnectionPoolEntry | None) -> None:
    info = record.record_info if record is not None else None
    if info is not None and info.pop(_COUNTED, False):
        metrics.connection_checked_in()


def count_connections_in_use(engine: AsyncEngine) -> None:
    """Count the engine's checked-out connections (checkout, checkin and detach events)."""
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "checkout", _checked_out)
    event.listen(sync_engine, "checkin", _returned)
    event.listen(sync_engine, "detach", _returned)
