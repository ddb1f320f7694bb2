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
from app.settings import Settings

SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]
ConnectionFactory: TypeAlias = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(settings: Settings) -> AsyncEngine:
    """The service's engine: a fixed, metered pool of asyncpg connections with deadlines."""
    db = settings.db
    engine = create_async_engine(
        settings.database_url,
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
            "statement_cache_size": db.statement_cache_size,
            "timeout": db.connect_timeout_ms / 1000,
            "command_timeout": db.command_timeout_ms / 1000,
            "server_settings": {
                "application_name": "tessera",
                "statement_timeout": str(db.statement_timeout_ms),
                # Every statement here finds rows by key, so one plan serves all parameters;
                # left to choose, PostgreSQL re-planned the `= ANY($n)` candidate lookup on
                # every call (~0.3 ms of its ~0.5 ms).
                "plan_cache_mode": "force_generic_plan",
            },
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
    round trip; a session adds BEGIN and ROLLBACK round trips and the ORM's bookkeeping."""

    sessions: SessionFactory
    connect_for_read: ConnectionFactory

    @classmethod
    def on(cls, engine: AsyncEngine) -> "Database":
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        return cls(create_sessionmaker(engine), autocommit.connect)
