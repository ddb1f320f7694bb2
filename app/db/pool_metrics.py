"""Connection-pool metrics: connections in use, and checkouts that had to wait for one."""

from collections.abc import Callable
from time import perf_counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from app import metrics

# In the connection record's record_info (kept for the record's life, across reconnects): the
# checkout was counted, so exactly one checkin or detach takes it off again.
_COUNTED = "tessera_counted_in_use"


def _checked_out(_: Any, record: ConnectionPoolEntry, __: Any) -> None:
    info = record.record_info
    if info is not None:  # None only for a connection detached from its pool
        info[_COUNTED] = True
        metrics.connection_checked_out()


def _returned(_: Any, record: ConnectionPoolEntry | None) -> None:
    info = record.record_info if record is not None else None
    if info is not None and info.pop(_COUNTED, False):
        metrics.connection_checked_in()


def instrument_pool(engine: AsyncEngine) -> None:
    """Count connections in use (checkout and checkin events) and time the checkouts that
    find no idle connection. Call it once per engine, before serving.

    SQLAlchemy has no event before a checkout, so the pool's `_do_get` (its one method that
    hands out a connection) is wrapped on this pool object; a checkout with an idle connection
    at hand pays one size check. engine.py keeps choosing the pool and its settings."""
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "checkout", _checked_out)
    event.listen(sync_engine, "checkin", _returned)
    event.listen(sync_engine, "detach", _returned)
    pool = sync_engine.pool
    if isinstance(pool, QueuePool):
        pool._do_get = _timed(pool, pool._do_get)  # type: ignore[method-assign]


def _timed(
    pool: QueuePool, get: Callable[[], ConnectionPoolEntry]
) -> Callable[[], ConnectionPoolEntry]:
    def do_get() -> ConnectionPoolEntry:
        if pool.checkedin():
            return get()
        started = perf_counter()
        try:
            return get()
        finally:
            metrics.pool_waited(perf_counter() - started)

    return do_get
