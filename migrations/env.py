"""Alembic environment: async engine on DATABASE_URL; models only as the autogenerate target."""

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import Base
from app.logs import configure_logging
from app.settings import LogSettings

config = context.config
if config.attributes.get("configure_logging", True):
    # The service's log format (TESSERA_LOG_FORMAT, TESSERA_LOG_LEVEL), from those two
    # settings alone: migrating needs no other setting.
    log = LogSettings()
    configure_logging(log.log_format, log.log_level)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL to the database to migrate.")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        # The service's role may carry its statement timeout as a default (2 s, set by
        # app/db/session_defaults.py for PgBouncer); a migration's index build or backfill may
        # rightly take longer. LOCAL: it ends with the transaction, also behind PgBouncer.
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        context.run_migrations()


async def _run_async() -> None:
    # No statement prepared under a name, so that migrating through PgBouncer in transaction
    # mode leaves nothing behind on a server session another client gets next.
    engine = create_async_engine(
        _url(),
        poolclass=pool.NullPool,
        connect_args={"statement_cache_size": 0, "prepared_statement_cache_size": 0},
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
