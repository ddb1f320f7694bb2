"""Errors of statements sent straight to the driver (db/driver.py), as the service sees them."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver import fetch
from app.db.errors import StatementUndoneError, is_database_unavailable


async def test_a_statement_undone_to_break_a_deadlock_may_run_again(engine: AsyncEngine) -> None:
    """PostgreSQL picks one side of a lock cycle and undoes its statement: the driver path says
    so with StatementUndoneError, which the checkout's writes retry and the rest answer 503."""
    async with engine.begin() as setup:
        await setup.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
        await setup.execute(text("CREATE TABLE deadlock_probe (id int PRIMARY KEY)"))
        await setup.execute(text("INSERT INTO deadlock_probe VALUES (1), (2)"))
    lock = "SELECT id FROM deadlock_probe WHERE id = $1 FOR UPDATE"
    try:
        async with engine.connect() as first, engine.connect() as second:
            # Through SQLAlchemy first, which begins each connection's transaction.
            held = "SELECT id FROM deadlock_probe WHERE id = :id FOR UPDATE"
            await first.execute(text(held), {"id": 1})
            await second.execute(text(held), {"id": 2})
            # The first to wait is the first to look for a cycle (after deadlock_timeout), and
            # the one PostgreSQL undoes.
            waiting = asyncio.create_task(fetch(first, lock, [2]))
            await asyncio.sleep(0.3)
            closing = asyncio.create_task(fetch(second, lock, [1]))
            with pytest.raises(StatementUndoneError) as undone:
                await waiting
            assert is_database_unavailable(undone.value)
            assert await closing  # the other side goes on
            await second.rollback()
            await first.rollback()
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE deadlock_probe"))
