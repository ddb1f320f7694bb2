"""The pool's metrics: connections in use go up and down with checkouts, and a checkout that
finds no idle connection is timed as a wait."""

import asyncio

from prometheus_client import REGISTRY
from sqlalchemy import text

from app.db.engine import create_engine
from app.settings import DatabaseSettings, Settings


def value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_in_use_and_waits(database_url: str) -> None:
    engine = create_engine(
        Settings(database_url=database_url, db=DatabaseSettings(pool_size=1, max_overflow=0))
    )
    try:
        async with engine.connect() as warm:  # opens the pool's one connection
            await warm.execute(text("SELECT 1"))
        in_use, waits = (
            value("tessera_db_pool_connections_in_use"),
            value("tessera_db_pool_wait_seconds_count"),
        )
        waited = value("tessera_db_pool_wait_seconds_sum")

        async def second() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        async with engine.connect() as first:
            await first.execute(text("SELECT 1"))
            assert value("tessera_db_pool_connections_in_use") == in_use + 1
            assert value("tessera_db_pool_wait_seconds_count") == waits
            blocked = asyncio.create_task(second())
            await asyncio.sleep(0.05)
            assert not blocked.done()
        await blocked
        assert value("tessera_db_pool_connections_in_use") == in_use
        assert value("tessera_db_pool_wait_seconds_count") == waits + 1
        assert value("tessera_db_pool_wait_seconds_sum") - waited >= 0.04
    finally:
        await engine.dispose()
