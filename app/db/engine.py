"""Engine, sessions and read connections: asyncpg under SQLAlchemy, with the pool settings in one
place."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
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

from app.db.pool_metrics import MeteredPool, count_connections_in_use
from app.settings import DatabaseSettings, Settings

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
        # of its ~0.5 ms).
        "plan_cache_mode": "force_generic_plan",
    }


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """The service's engine on url (DATABASE_URL by default): a fixed, metered pool of asyncpg
    connections with deadlines.

    Behind PgBouncer in transaction mode (pooler="pgbouncer") a connection is a different
    server session from one transaction to the next, so nothing may outlive a transaction:
    the session settings come from role defaults instead of startup parameters (which
    PgBouncer refuses), and no statement is prepared under a name: asyncpg's and SQLAlchemy's
    caches are off, so every statement is the unnamed one. asyncpg learns its types with
    Parse, Describe, Flush, and then, its cache being off, sends Parse again with Bind,
    Execute and Sync, so that the statement it runs never depends on which server session
    the pooler picked for the exchange before (asyncpg >= 0.29; the lock pins it). An
    autocommit statement thus stays one exchange behind PgBouncer too, plus the parse."""
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
    count_connections_in_use(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass(frozen=True, slots=True)
class Database:
    """How use cases reach PostgreSQL: sessions for units of work, and autocommit connections
    for reads that fit in one statement. An autocommit read is its own snapshot and costs one
    round trip; a session adds BEGIN and ROLLBACK round trips and the ORM's bookkeeping.

    The replica_ pair reach the read replica (TESSERA_READ_DATABASE_URL), or the primary when
    there is none: only for reads that may lag the primary by a moment, never for a write or
    for a read a write depends on."""

    sessions: SessionFactory
    connect_for_read: ConnectionFactory
    replica_sessions: SessionFactory
    connect_to_replica: ConnectionFactory

    @classmethod
    def on(cls, engine: AsyncEngine, replica: AsyncEngine | None = None) -> "Database":
        sessions, connect = _factories(engine)
        if replica is None:
            return cls(sessions, connect, sessions, connect)
        return cls(sessions, connect, *_factories(replica))


def _factories(engine: AsyncEngine) -> tuple[SessionFactory, ConnectionFactory]:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return create_sessionmaker(engine), autocommit.connect
