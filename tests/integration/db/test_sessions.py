"""What every connection of the service relies on, connected directly or through PgBouncer in
transaction mode (`make test-pgbouncer` runs this file through a real one): the statement
timeout is in force, and statements running at once on many pooled connections each get their
own result, although behind PgBouncer none of them is prepared under a name and each may land
on any server session.

Behind PgBouncer every statement is parsed again (asyncpg with its cache off: Parse, Describe,
Flush, then Parse, Bind, Execute, Sync), and PostgreSQL's statement timeout runs from the first
Parse to the Sync: it also counts the client's own delay between the two exchanges. Thousands
of statements at once in one event loop made that delay longer than the timeout, so this test
sends a few hundred."""

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver import fetch
from app.db.engine import Database
from app.db.errors import DatabaseUnavailableError
from app.settings import Settings

# Statements of different shapes, so that a parse meant for one and executed as another shows.
SHAPES = (
    "SELECT $1::bigint * 2 AS value",
    "SELECT $1::bigint + 1000000 AS value",
    "SELECT ($1::bigint - 7) AS value, 'x'::text AS filler",
    "SELECT value FROM (SELECT $1::bigint * 3 AS value) AS inner_select",
)


def expected(shape: int, argument: int) -> int:
    return [argument * 2, argument + 1_000_000, argument - 7, argument * 3][shape]


async def test_a_statement_past_the_timeout_is_cancelled_on_every_path(
    engine: AsyncEngine, settings: Settings
) -> None:
    limit = settings.db.statement_timeout_ms / 1000
    database = Database.on(engine)
    started = time.monotonic()
    async with database.connect_for_read() as connection:
        with pytest.raises(DatabaseUnavailableError, match="statement timeout"):
            await fetch(connection, "SELECT pg_sleep($1)", [limit + 2])
    assert time.monotonic() - started < limit + 1

    started = time.monotonic()
    async with database.sessions() as session:
        with pytest.raises(DBAPIError, match="statement timeout"):
            await session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": limit + 2})
    assert time.monotonic() - started < limit + 1


@pytest.mark.concurrency
async def test_statements_at_once_on_the_pool_each_get_their_own_result(
    engine: AsyncEngine,
) -> None:
    database = Database.on(engine)

    async def one(index: int) -> tuple[int, int]:
        shape = index % len(SHAPES)
        async with database.connect_for_read() as connection:
            [row] = await fetch(connection, SHAPES[shape], [index])
        return expected(shape, index), row["value"]

    async def in_session(index: int) -> tuple[int, int]:
        async with database.sessions() as session, session.begin():
            value = (
                await session.execute(text("SELECT CAST(:n AS bigint) * 5"), {"n": index})
            ).scalar_one()
        return index * 5, value

    # Four times the pool's 80 connections (and, behind PgBouncer, twenty times its server
    # sessions): every statement waits for a connection and shares server sessions. A task
    # group, so that a failure ends the others rather than leaving them holding connections.
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(i)) for i in range(240)]
        tasks += [group.create_task(in_session(i)) for i in range(80)]
    wrong = [(want, got) for want, got in (task.result() for task in tasks) if want != got]
    assert wrong == []
