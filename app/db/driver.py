"""Statements sent straight to asyncpg, past SQLAlchemy's per-call work, on a connection
SQLAlchemy pooled (a read connection or a session's). SQLAlchemy does not see their errors, so
this is where they get its treatment: a lost connection is invalidated (never handed to the
next request) and transient refusals become DatabaseUnavailableError (503)."""

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.errors import (
    UNAVAILABLE_SQLSTATES,
    UNDONE_SQLSTATES,
    DatabaseUnavailableError,
    StatementUndoneError,
)

_LOST = (
    asyncpg.InterfaceError,
    # The connection was terminated under a statement in flight: the driver's state machine is
    # left mid-operation ("cannot switch to state ..."), so it is lost too.
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    OSError,
    TimeoutError,
)


async def fetch(connection: AsyncConnection, sql: str, arguments: Sequence[Any]) -> list[Any]:
    """The rows of sql with its $n arguments, run by the driver on connection."""
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    try:
        rows: list[Any] = await driver.fetch(sql, *arguments)
    except _LOST as exc:
        await connection.invalidate(exc)
        raise DatabaseUnavailableError(str(exc)) from exc
    except asyncpg.PostgresError as exc:
        if exc.sqlstate in UNDONE_SQLSTATES:
            raise StatementUndoneError(str(exc)) from exc
        if exc.sqlstate in UNAVAILABLE_SQLSTATES:
            raise DatabaseUnavailableError(str(exc)) from exc
        raise
    return rows


async def fetch_atomically(
    connection: AsyncConnection, sql: str, arguments: Sequence[Any]
) -> list[Any]:
    """fetch, for a statement that may fail on purpose (a refused guarded write): on an
    autocommit connection it is its own transaction; inside a transaction (tests run inside
    one) a savepoint keeps its failure from aborting the rest."""
    options = connection.sync_engine.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return await fetch(connection, sql, arguments)
    async with connection.begin_nested():
        return await fetch(connection, sql, arguments)
