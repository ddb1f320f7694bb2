"""Engine and session factory: asyncpg under SQLAlchemy, with the pool settings in one place."""

from typing import TypeAlias

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.settings import Settings

SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]


def create_engine(settings: Settings) -> AsyncEngine:
    db = settings.db
    return create_async_engine(
        settings.database_url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_pre_ping=False,
        connect_args={
            "statement_cache_size": db.statement_cache_size,
            "server_settings": {
                "application_name": "tessera",
                "statement_timeout": str(db.statement_timeout_ms),
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
