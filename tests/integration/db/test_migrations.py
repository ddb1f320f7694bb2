"""The schema exists only through Alembic: it upgrades, downgrades, upgrades again, and what it
builds is exactly what the models describe."""

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
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

    def test_code_counts_move_to_counter_rows_and_back(self, scratch_url: str) -> None:
        """Revision 5c1f0a9d7e42 splits each code's count over counter rows without losing a
        use or passing a limit, and its downgrade puts the counts back."""
        counts = {"HALF": (50, 37), "FULL": (500, 500), "ONE": (1, 1), "OPEN": (None, 7)}
        migrate(scratch_url, "0e885dd4ace4")
        asyncio.run(
            _execute(
                scratch_url,
                "INSERT INTO campaigns (id, name, status, trigger, rules)"
                " VALUES ('00000000-0000-0000-0000-000000000001', 'old', 'active', 'code',"
                " '{\"effects\": []}')",
                *(
                    "INSERT INTO codes (campaign_id, code, normalised_code, max_redemptions,"
                    f" redemption_count) VALUES ('00000000-0000-0000-0000-000000000001',"
                    f" '{code}', '{code.lower()}', {'NULL' if limit is None else limit}, {used})"
                    for code, (limit, used) in counts.items()
                ),
            )
        )
        migrate(scratch_url)
        rows = asyncio.run(
            _fetch(
                scratch_url,
                "SELECT codes.code, count(*), sum(capacity), sum(code_counters.used),"
                " bool_and(capacity IS NULL OR code_counters.used <= capacity)"
                " FROM code_counters JOIN codes ON codes.id = code_counters.code_id"
                " GROUP BY codes.code",
            )
        )
        assert {row[0]: tuple(row[1:]) for row in rows} == {
            "HALF": (32, 50, 37, True),
            "FULL": (32, 500, 500, True),
            "ONE": (1, 1, 1, True),
            "OPEN": (32, None, 7, True),
        }
        migrate(scratch_url, "0e885dd4ace4", down=True)
        restored = asyncio.run(_fetch(scratch_url, "SELECT code, redemption_count FROM codes"))
        assert dict(restored) == {code: used for code, (_, used) in counts.items()}

    def test_uses_counted_on_a_row_move_to_a_counter_row_on_downgrade(
        self, scratch_url: str
    ) -> None:
        """Revision 2d9a6e4f8c13 counts pool codes' uses on their row; its downgrade gives each
        such code a counter row holding its uses, so no use is lost."""
        migrate(scratch_url)
        asyncio.run(
            _execute(
                scratch_url,
                "INSERT INTO campaigns (id, name, status, trigger, rules)"
                " VALUES ('00000000-0000-0000-0000-000000000001', 'pool', 'active', 'code',"
                " '{\"effects\": []}')",
                "INSERT INTO codes (campaign_id, code, normalised_code, max_redemptions, source,"
                " used) VALUES ('00000000-0000-0000-0000-000000000001', 'P1', 'p1', 1,"
                " 'generated', 1), ('00000000-0000-0000-0000-000000000001', 'P2', 'p2', 1,"
                " 'generated', 0)",
            )
        )
        over = "UPDATE codes SET used = 2 WHERE code = 'P1'"
        with pytest.raises(Exception, match="ck_codes_used_within_limit"):
            asyncio.run(_execute(scratch_url, over))
        migrate(scratch_url, "8b1f4c7e2a90", down=True)
        rows = asyncio.run(
            _fetch(
                scratch_url,
                "SELECT codes.code, capacity, code_counters.used FROM code_counters"
                " JOIN codes ON codes.id = code_counters.code_id ORDER BY codes.code",
            )
        )
        assert [tuple(row) for row in rows] == [("P1", 1, 1), ("P2", 1, 0)]

    def test_generations_an_older_build_left_running_are_queued_to_resume(
        self, scratch_url: str
    ) -> None:
        """Revision 7c2d9e4b1a63 gives each code job an older build left running a job, due
        five minutes later (a rolling deploy's old process may still be writing it)."""
        campaign, key = (
            "00000000-0000-0000-0000-000000000001",
            "00000000-0000-0000-0000-000000000002",
        )
        migrate(scratch_url, "4e8a1c6d2f95")
        asyncio.run(
            _execute(
                scratch_url,
                "INSERT INTO campaigns (id, name, status, trigger, rules)"
                f" VALUES ('{campaign}', 'pool', 'active', 'code', '{{\"effects\": []}}')",
                "INSERT INTO api_keys (id, name, key_prefix, key_hash, scopes)"
                f" VALUES ('{key}', 'admin', 'tsk_x', '\\x{'ab' * 32}', ARRAY['admin'])",
                *(
                    "INSERT INTO code_jobs (id, campaign_id, api_key_id, kind, status, requested,"
                    f" created, spec) VALUES ('{job}', '{campaign}', '{key}', 'generate',"
                    f" '{status}', 100, {created}, '{{}}')"
                    for job, status, created in (
                        ("00000000-0000-0000-0000-00000000000a", "running", 40),
                        ("00000000-0000-0000-0000-00000000000b", "succeeded", 100),
                    )
                ),
            )
        )
        migrate(scratch_url)
        rows = asyncio.run(
            _fetch(
                scratch_url,
                "SELECT kind, payload->>'code_job_id', status,"
                " run_at > now() + interval '4 minutes' FROM jobs",
            )
        )
        assert [tuple(row) for row in rows] == [
            ("generate_codes", "00000000-0000-0000-0000-00000000000a", "queued", True)
        ]


async def _execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _fetch(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()
