"""The schema exists only through Alembic: it upgrades, downgrades, upgrades again, and what it
builds is exactly what the models describe."""

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import Base
from tests.conftest import _create_database, _drop_database, _with_database, migrate


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    name = f"tessera_migrations_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_url, name))
    try:
        yield _with_database(server_url, name).replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        asyncio.run(_drop_database(server_url, name))


async def _inspect(url: str) -> tuple[list[Any], list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def diff_and_tables(sync_conn: Connection) -> tuple[list[Any], list[str]]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(context, Base.metadata), inspect(
                    sync_conn
                ).get_table_names()

            return await conn.run_sync(diff_and_tables)
    finally:
        await engine.dispose()


class TestMigrations:
    def test_upgrade_downgrade_upgrade_matches_the_models(self, scratch_url: str) -> None:
        migrate(scratch_url)
        migrate(scratch_url, "base", down=True)
        _, tables = asyncio.run(_inspect(scratch_url))
        assert tables == ["alembic_version"]
        migrate(scratch_url)
        diff, tables = asyncio.run(_inspect(scratch_url))
        assert diff == []
        assert set(tables) >= {"campaigns", "codes", "redemptions", "idempotency_keys"}
