"""Pool claims and bulk generation on real, committing connections."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import Database, SessionFactory
from app.domain.api_keys import Scope
from app.domain.pools import JobStatus
from app.services import pools
from app.services.jobs import Outcome, Worker
from app.services.pools import GenerationTerms
from app.settings import Settings
from tests.factories import Factory, bearer
from tests.workers import empty_jobs, run_due_jobs, worker_on

pytestmark = pytest.mark.concurrency


@pytest.fixture
async def worker(
    engine: AsyncEngine, settings: Settings, committing_sessionmaker: SessionFactory
) -> AsyncIterator[Worker]:
    """A worker's means on committing connections, on an empty queue that is emptied again
    afterwards."""
    await empty_jobs(engine)
    yield worker_on(Database.on(engine), settings)
    await empty_jobs(engine)


async def generated(factory: Factory, worker: Worker, campaign_id: UUID, count: int) -> None:
    await factory.api_key(Scope.ADMIN, name="pool admin")
    async with factory.uow() as uow:
        [key] = [k for k in await uow.api_keys.list_all() if k.name == "pool admin"]
    terms = GenerationTerms(count=count)
    job = await pools.start_generation(factory.uow(), campaign_id, key.id, terms)
    assert [ran.outcome for ran in await run_due_jobs(worker)] == [Outcome.SUCCEEDED]
    finished = await pools.get_job(factory.uow(), job.id)
    assert (finished.status, finished.created) == (JobStatus.SUCCEEDED, count)


class TestClaims:
    async def test_two_hundred_customers_at_once_get_two_hundred_codes(
        self,
        racing_client: AsyncClient,
        committing_factory: Factory,
        worker: Worker,
        engine: AsyncEngine,
    ) -> None:
        campaign = await committing_factory.campaign()
        await generated(committing_factory, worker, campaign.id, 220)
        support = bearer(await committing_factory.api_key(Scope.SUPPORT))
        url = f"/v1/campaigns/{campaign.id}/claims"

        responses = await asyncio.gather(
            *(
                racing_client.post(url, json={"customer_id": f"c{i}"}, headers=support)
                for i in range(200)
            )
        )

        assert Counter(r.status_code for r in responses) == {201: 200}
        codes = {r.json()["code"] for r in responses}
        assert len(codes) == 200
        async with engine.connect() as conn:
            holders = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT customer_id) FROM codes"
                        " WHERE campaign_id = :id AND customer_id IS NOT NULL"
                    ),
                    {"id": campaign.id},
                )
            ).one()
        assert tuple(holders) == (200, 200)

    async def test_one_customer_racing_itself_gets_one_code(
        self,
        racing_client: AsyncClient,
        committing_factory: Factory,
        worker: Worker,
        engine: AsyncEngine,
    ) -> None:
        campaign = await committing_factory.campaign()
        await generated(committing_factory, worker, campaign.id, 100)
        support = bearer(await committing_factory.api_key(Scope.SUPPORT))
        url = f"/v1/campaigns/{campaign.id}/claims"

        responses = await asyncio.gather(
            *(
                racing_client.post(url, json={"customer_id": "ann"}, headers=support)
                for _ in range(50)
            )
        )

        assert Counter(r.status_code for r in responses) == {201: 1, 200: 49}
        assert len({r.json()["code"] for r in responses}) == 1
        async with engine.connect() as conn:
            held = await conn.scalar(text("SELECT count(*) FROM codes WHERE customer_id = 'ann'"))
        assert held == 1


class TestGeneration:
    async def test_a_hundred_thousand_codes_are_written_once_each(
        self,
        committing_factory: Factory,
        worker: Worker,
        engine: AsyncEngine,
    ) -> None:
        campaign = await committing_factory.campaign()
        await generated(committing_factory, worker, campaign.id, 100_000)
        async with engine.connect() as conn:
            counts = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT normalised_code),"
                        " count(*) FILTER (WHERE used = 0),"
                        " (SELECT count(*) FROM code_counters JOIN codes ON codes.id = code_id"
                        "  WHERE campaign_id = :id)"
                        " FROM codes WHERE campaign_id = :id"
                    ),
                    {"id": campaign.id},
                )
            ).one()
        # Each stored once, counting its uses on its own row: no counter rows for a pool.
        assert tuple(counts) == (100_000, 100_000, 100_000, 0)

    async def test_a_drawn_code_that_exists_already_is_drawn_again(
        self,
        committing_factory: Factory,
        worker: Worker,
        engine: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The batch's COPY fails on the taken code; the batch is written without it through
        the staging table, and the job draws one more."""
        campaign = await committing_factory.campaign()
        await committing_factory.code(campaign, "TAKEN0001")
        draws = iter([["FRESH0001", "TAKEN0001", "FRESH0002"], ["FRESH0003"]])
        monkeypatch.setattr(pools, "generate", lambda spec, count: next(draws)[:count])
        await generated(committing_factory, worker, campaign.id, 3)
        async with engine.connect() as conn:
            codes = await conn.execute(
                text("SELECT code, source FROM codes WHERE campaign_id = :id ORDER BY code"),
                {"id": campaign.id},
            )
            assert [tuple(row) for row in codes] == [
                ("FRESH0001", "generated"),
                ("FRESH0002", "generated"),
                ("FRESH0003", "generated"),
                ("TAKEN0001", "named"),
            ]
