"""Purges running at once share the work: every expired row is deleted exactly once, live
rows stay, and none of the runs waits on another."""

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer

pytestmark = pytest.mark.concurrency

EXPIRED = 12_345
LIVE = 100


async def test_concurrent_purges_delete_each_expired_key_once(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    async with engine.begin() as conn:
        key_id = (await conn.execute(text("SELECT id FROM api_keys LIMIT 1"))).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (api_key_id, key, request_hash, created_at) "
                "SELECT CAST(:key_id AS uuid), 'old-' || n, decode('00', 'hex'), "
                "       now() - interval '2 days' "
                "FROM generate_series(1, :expired) AS n "
                "UNION ALL SELECT CAST(:key_id AS uuid), 'new-' || n, decode('00', 'hex'), now() "
                "FROM generate_series(1, :live) AS n"
            ),
            {"key_id": key_id, "expired": EXPIRED, "live": LIVE},
        )
    runs = await asyncio.gather(
        *(racing_client.post("/v1/purge-runs", headers=admin) for _ in range(3))
    )
    assert [run.status_code for run in runs] == [200, 200, 200]
    assert sum(run.json()["idempotency_keys"] for run in runs) == EXPIRED
    async with engine.connect() as conn:
        left = await conn.execute(text("SELECT count(*) FROM idempotency_keys"))
        assert left.scalar_one() == LIVE
