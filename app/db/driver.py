"""Statements sent straight to asyncpg, past SQLAlchemy's per-call work, on a connection
SQLAlchemy pooled (a read connection or a session's). SQLAlchemy does not see their errors, so
this is where they get its treatment: a lost connection is invalidated (never handed to the
next request) and transient refusals become DatabaseUnavailableError (503)."""

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import STATEMENT_TRANSACTIONS
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
    """The rows of sql with its $n arguments, run by the driver on connection.

    Behind PgBouncer (db/engine.py, STATEMENT_TRANSACTIONS) an autocommit statement runs inside
    BEGIN ... COMMIT, two more round trips. asyncpg without its statement cache learns a
    statement's types with Parse, Describe and Flush, then sends Parse, Bind, Execute and
    Sync. PgBouncer 1.18 takes the answer to the Flush for the end of a transaction and lends
    the server session to another client in the middle of the first one's exchange: the
    session then waits for a Sync that never comes, in an open implicit transaction holding
    the statement's relation locks (seen here: a TRUNCATE waited on one for minutes), and its
    next client's messages land in the middle of it. Inside BEGIN the session stays this
    client's until COMMIT."""
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    options = connection.sync_engine.get_execution_options()
    try:
        if options.get(STATEMENT_TRANSACTIONS) and not driver.is_in_transaction():
            async with driver.transaction():
                rows: list[Any] = await driver.fetch(sql, *arguments)
        else:
            rows = await driver.fetch(sql, *arguments)
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
