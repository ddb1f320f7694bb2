"""Engine, sessions and read connections: asyncpg under SQLAlchemy, with the pool settings in one
place."""

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db.errors import DATABASE_ERRORS
from app.db.pool_metrics import MeteredPool, count_connections_in_use
from app.settings import DatabaseSettings, Settings

logger = logging.getLogger("tessera.db")

SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]
ConnectionFactory: TypeAlias = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# What every session of the service runs with (set as startup parameters, or as role defaults
# behind a pooler): /readyz checks them (services/health.py).
def session_settings(db: DatabaseSettings) -> dict[str, str]:
    return {
        "statement_timeout": str(db.statement_timeout_ms),
        # Every statement here finds rows by key, so one plan serves all parameters; left to
        # choose, PostgreSQL re-planned the `= ANY($n)` candidate lookup on every call (~0.3 ms
        # of its ~0.5 ms). Behind PgBouncer no plan is kept between calls, and the generic one
        # is still the quicker to make: 600 holds at once on one code took 4.6-5.1 s through
        # it with this setting, 5.6-6.1 s without.
        "plan_cache_mode": "force_generic_plan",
    }


# Marks an engine whose autocommit statements each run inside BEGIN ... COMMIT (db/driver.py).
STATEMENT_TRANSACTIONS = "tessera_statement_transactions"


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """The service's engine on url (DATABASE_URL by default): a fixed, metered pool of asyncpg
    connections with deadlines.

    Behind PgBouncer in transaction mode (pooler="pgbouncer") a connection is a different
    server session from one transaction to the next, so nothing may outlive a transaction:
    the session settings come from role defaults instead of startup parameters (which
    PgBouncer refuses), and no statement is prepared under a name: asyncpg's and SQLAlchemy's
    caches are off, so every statement is the unnamed one, and an autocommit statement runs
    inside BEGIN ... COMMIT (db/driver.py says why)."""
    db = settings.db
    pooled = db.pooler == "pgbouncer"
    server_settings = {"application_name": db.application_name}
    if not pooled:
        server_settings |= session_settings(db)
    engine = create_async_engine(
        url or settings.database_url,
        poolclass=MeteredPool,
        # Errors would print their statement's parameters (codes, e-mails, key digests) into
        # logs and tracebacks.
        hide_parameters=True,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_pre_ping=False,
        pool_timeout=db.pool_timeout_ms / 1000,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={
            "statement_cache_size": 0 if pooled else db.statement_cache_size,
            "prepared_statement_cache_size": 0 if pooled else db.statement_cache_size,
            "timeout": db.connect_timeout_ms / 1000,
            "command_timeout": db.command_timeout_ms / 1000,
            "server_settings": server_settings,
        },
    )
    if pooled:
        engine.update_execution_options(**{STATEMENT_TRANSACTIONS: True})
    count_connections_in_use(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReplicaRoute:
    """Whether reads that may lag go to the replica: yes, unless it failed to give a connection
    within the last `pause` seconds; meanwhile the primary serves them. Per process and bounded
    by time: each process finds a dead replica on its own, at the cost of one failed connect
    (immediate when refused, TESSERA_DB__CONNECT_TIMEOUT_MS when unanswered) per pause."""

    def __init__(self, pause: float = 5.0) -> None:
        self.pause = pause
        self._down_until = 0.0

    def usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        if self.usable():
            logger.warning(
                "the read replica gives no connection (%s); reading from the primary for %g s",
                exc.__class__.__name__,
                self.pause,
            )
        self._down_until = time.monotonic() + self.pause


@dataclass(frozen=True, slots=True)
class Database:
    """How use cases reach PostgreSQL: sessions for units of work, and autocommit connections
    for reads that fit in one statement. An autocommit read is its own snapshot and costs one
    round trip; a session adds BEGIN and ROLLBACK round trips and the ORM's bookkeeping.

    The replica_ pair reach the read replica (TESSERA_READ_DATABASE_URL), or the primary when
    there is none: only for reads that may lag the primary by a moment, never for a write or
    for a read a write depends on. With a replica, route says when it failed, and
    connect_to_replica hands out a primary connection instead (db/uow.py's ReplicaUnitOfWork
    does the same for sessions)."""

    sessions: SessionFactory
    connect_for_read: ConnectionFactory
    replica_sessions: SessionFactory
    connect_to_replica: ConnectionFactory
    route: ReplicaRoute | None = None

    @classmethod
    def on(cls, engine: AsyncEngine, replica: AsyncEngine | None = None) -> "Database":
        sessions, connect = _factories(engine)
        if replica is None:
            return cls(sessions, connect, sessions, connect)
        replica_sessions, connect_replica = _factories(replica)
        route = ReplicaRoute()

        @asynccontextmanager
        async def connect_to_replica() -> AsyncIterator[AsyncConnection]:
            async with AsyncExitStack() as stack:
                connection = None
                if route.usable():
                    try:
                        connection = await stack.enter_async_context(connect_replica())
                    except DATABASE_ERRORS as exc:
                        route.failed(exc)
                if connection is None:
                    connection = await stack.enter_async_context(connect())
                yield connection

        return cls(sessions, connect, replica_sessions, connect_to_replica, route)


def _factories(engine: AsyncEngine) -> tuple[SessionFactory, ConnectionFactory]:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_sessionmaker(engine), autocommit.connect
