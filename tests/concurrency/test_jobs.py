"""Durable jobs on real, committing connections: claimers racing never run one job twice, a
lapsed lease is taken over and its old owner fenced off, the schedule makes one job per slot
however many workers tick, a failing job backs off and then fails; and a worker process killed
in the middle of a pool generation leaves a job that the next worker finishes to exactly the
count requested."""

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.db.engine import Database, SessionFactory
from app.db.errors import DatabaseUnavailableError
from app.domain.api_keys import Scope
from app.domain.jobs import JobKind, JobStatus
from app.domain.pools import JobStatus as CodeJobStatus
from app.services import jobs, pools
from app.services.jobs import SCHEDULE, Lease, LeaseLost, Outcome, Worker
from app.services.pools import GenerationTerms
from app.settings import Settings
from tests.factories import Factory
from tests.integration.test_processes import clean_env
from tests.workers import empty_jobs, run_due_jobs, worker_on

pytestmark = pytest.mark.concurrency

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
async def no_jobs(engine: AsyncEngine) -> AsyncIterator[None]:
    """Every test starts and ends with an empty queue."""
    await empty_jobs(engine)
    yield
    await empty_jobs(engine)


@pytest.fixture
def worker(
    engine: AsyncEngine, settings: Settings, committing_sessionmaker: SessionFactory
) -> Worker:
    """A worker's means on committing connections (whose fixture empties the other tables)."""
    return worker_on(Database.on(engine), settings)


async def admin_key_id(factory: Factory) -> UUID:
    await factory.api_key(Scope.ADMIN, name="generator")
    async with factory.uow() as uow:
        [key] = [k for k in await uow.api_keys.list_all() if k.name == "generator"]
    return key.id


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Row[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def job_row(engine: AsyncEngine, job_id: UUID) -> Row[Any]:
    return await one(
        engine,
        "SELECT status, attempts, run_at, lease_token, error, finished_at FROM jobs WHERE id = :id",
        id=job_id,
    )


CODES_OF = (
    "SELECT count(*) AS codes, count(DISTINCT normalised_code) AS distinct_codes"
    " FROM codes WHERE campaign_id = :id"
)


class TestClaims:
    async def test_claimers_at_once_each_claim_a_different_job(
        self, worker: Worker, settings: Settings
    ) -> None:
        now = utc_now()
        async with worker.new_uow() as uow:
            queued = [
                await uow.jobs.enqueue(JobKind.PURGE, {"n": n}, run_at=now) for n in range(50)
            ]
            await uow.commit()
        lease = timedelta(seconds=settings.jobs.lease_seconds)

        async def claimer() -> list[UUID]:
            mine: list[UUID] = []
            while True:
                async with worker.new_uow() as uow:
                    job = await uow.jobs.claim(now, now + lease)
                    await uow.commit()
                if job is None:
                    return mine
                mine.append(job.id)

        claims = await asyncio.gather(*(claimer() for _ in range(8)))

        assert Counter(job_id for mine in claims for job_id in mine) == Counter(queued)
        assert len(set(queued)) == 50

    async def test_workers_at_once_run_each_job_once(
        self, worker: Worker, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        campaign = await committing_factory.campaign()
        key_id = await admin_key_id(committing_factory)
        code_jobs = [
            await pools.start_generation(
                committing_factory.uow(),
                campaign.id,
                key_id,
                GenerationTerms(count=40, length=10),
                batch_size=10,
            )
            for _ in range(12)
        ]

        runs = await asyncio.gather(*(run_due_jobs(worker) for _ in range(6)))

        ran = [one for mine in runs for one in mine]
        assert len(ran) == 12
        assert len({one.job_id for one in ran}) == 12
        assert {(one.outcome, one.attempt) for one in ran} == {(Outcome.SUCCEEDED, 1)}
        for code_job in code_jobs:
            done = await pools.get_job(committing_factory.uow(), code_job.id)
            assert (done.status, done.created) == (CodeJobStatus.SUCCEEDED, 40)
        counts = await one(engine, CODES_OF, id=campaign.id)
        assert (counts.codes, counts.distinct_codes) == (480, 480)
        attempts = await one(engine, "SELECT min(attempts), max(attempts), count(*) FROM jobs")
        assert tuple(attempts) == (1, 1, 12)


class TestLeases:
    async def test_a_lapsed_lease_is_taken_over_and_the_old_owner_is_fenced_off(
        self, worker: Worker, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        campaign = await committing_factory.campaign()
        code_job = await pools.start_generation(
            committing_factory.uow(),
            campaign.id,
            await admin_key_id(committing_factory),
            GenerationTerms(count=30, length=10),
            batch_size=10,
        )
        now = utc_now()
        lasts = timedelta(seconds=worker.settings.jobs.lease_seconds)
        async with worker.new_uow() as uow:
            claimed = await uow.jobs.claim(now, now + lasts)
            await uow.commit()
        assert claimed is not None
        old = Lease(claimed, worker, now)
        lapsed = now + lasts + timedelta(seconds=1)

        # While the old owner is inside a step (its row locked), its job is not claimed, even
        # once its lease has lapsed: it can still commit that step.
        async with worker.new_uow() as inside:
            await old.begin_step(inside)
            assert await jobs.run_one(worker, lapsed) is None
            await inside.commit()
        # Its lease (renewed at `now`) has lapsed by then: the next worker takes the job over.
        ran = await jobs.run_one(worker, lapsed)

        assert ran is not None
        assert (ran.job_id, ran.outcome, ran.attempt) == (claimed.id, Outcome.SUCCEEDED, 2)
        row = await job_row(engine, claimed.id)
        assert (row.status, row.attempts) == ("succeeded", 2)
        assert row.lease_token not in (None, old.token)
        # The old owner's token moves nothing now: not a renewal, an end, a retry or a release,
        # and not a batch of codes.
        async with worker.new_uow() as uow:
            assert not await uow.jobs.renew(claimed.id, old.token, lapsed, lapsed + lasts)
            assert not await uow.jobs.finish(claimed.id, old.token, JobStatus.FAILED, lapsed)
            assert not await uow.jobs.retry(claimed.id, old.token, lapsed, lapsed, "late")
            assert not await uow.jobs.release(claimed.id, old.token, lapsed)
            await uow.commit()
        with pytest.raises(LeaseLost):
            await pools.run_generation(worker.new_uow, code_job.id, old.begin_step, 10)
        assert tuple(await job_row(engine, claimed.id))[:2] == ("succeeded", 2)
        done = await pools.get_job(committing_factory.uow(), code_job.id)
        assert (done.status, done.created) == (CodeJobStatus.SUCCEEDED, 30)
        counts = await one(engine, CODES_OF, id=campaign.id)
        assert (counts.codes, counts.distinct_codes) == (30, 30)


class TestSchedule:
    async def test_each_slot_is_enqueued_once_by_workers_ticking_at_once(
        self, worker: Worker, engine: AsyncEngine
    ) -> None:
        start = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)

        async def tick(at: datetime) -> int:
            ticks = await asyncio.gather(
                *(jobs.enqueue_scheduled(worker.new_uow(), at) for _ in range(8))
            )
            return sum(ticks)

        assert await tick(start) == 3
        # 30 s on, only the hold sweep's slot is new; 5 minutes on, the expiry's too.
        assert await tick(start + timedelta(seconds=30)) == 1
        assert await tick(start + timedelta(seconds=31)) == 0
        assert await tick(start + timedelta(minutes=5)) == 2
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT dedupe_key, kind, run_at, status FROM jobs"))
            ).all()
        # Each due from the start of its slot, keyed by its schedule entry's name and slot.
        slots = {row.dedupe_key: row.run_at for row in rows}
        assert slots == {
            f"{name}:{at.isoformat()}": at
            for name, at in [
                ("expire_points", datetime(2030, 1, 1, 0, 0, tzinfo=UTC)),
                ("expire_points", datetime(2030, 1, 1, 0, 5, tzinfo=UTC)),
                ("lapse_holds", datetime(2030, 1, 1, 0, 0, tzinfo=UTC)),
                ("lapse_holds", datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)),
                ("lapse_holds", datetime(2030, 1, 1, 0, 5, tzinfo=UTC)),
                ("purge", datetime(2030, 1, 1, 0, 0, tzinfo=UTC)),
            ]
        }
        assert len(rows) == 6
        assert {(row.dedupe_key.split(":")[0], row.kind, row.status) for row in rows} == {
            ("expire_points", "expire_points", "queued"),
            ("lapse_holds", "lapse_holds", "queued"),
            ("purge", "purge", "queued"),
        }
        assert {entry.kind for entry in SCHEDULE} == {row.kind for row in rows}

    async def test_the_scheduled_jobs_run(self, worker: Worker, engine: AsyncEngine) -> None:
        now = utc_now()
        assert await jobs.enqueue_scheduled(worker.new_uow(), now) == 3

        ran = await run_due_jobs(worker, now)

        assert sorted((one.kind, one.outcome) for one in ran) == [
            (JobKind.EXPIRE_POINTS, Outcome.SUCCEEDED),
            (JobKind.LAPSE_HOLDS, Outcome.SUCCEEDED),
            (JobKind.PURGE, Outcome.SUCCEEDED),
        ]


class TestRetries:
    async def test_a_failing_job_backs_off_then_fails_after_max_attempts(
        self, worker: Worker, settings: Settings, engine: AsyncEngine
    ) -> None:
        worker = worker_on(Database.on(engine), settings, max_attempts=3)
        now = utc_now()
        async with worker.new_uow() as uow:
            # A generation whose code job does not exist: every run fails.
            job_id = await uow.jobs.enqueue(
                JobKind.GENERATE_CODES, {"code_job_id": str(uuid4())}, run_at=now
            )
            await uow.commit()
        assert job_id is not None

        waits = []
        for attempt, outcome in [(1, Outcome.RETRYING), (2, Outcome.RETRYING)]:
            ran = await jobs.run_one(worker, now)
            assert ran is not None
            assert (ran.job_id, ran.attempt, ran.outcome) == (job_id, attempt, outcome)
            row = await job_row(engine, job_id)
            assert (row.status, row.attempts, row.lease_token) == ("queued", attempt, None)
            assert "JobNotFound" in row.error
            waits.append(row.run_at - now)
            # Not due before its backoff has passed.
            assert await jobs.run_one(worker, row.run_at - timedelta(seconds=1)) is None
            now = row.run_at
        # 10 s, then 20 s (give or take the time the run took).
        assert timedelta(seconds=10) <= waits[0] < timedelta(seconds=11)
        assert timedelta(seconds=20) <= waits[1] < timedelta(seconds=21)

        last = await jobs.run_one(worker, now)

        assert last is not None
        assert (last.attempt, last.outcome) == (3, Outcome.FAILED)
        row = await job_row(engine, job_id)
        assert (row.status, row.attempts) == ("failed", 3)
        assert row.finished_at is not None
        assert row.error.startswith("Gave up after 3 attempts; the last failed with ")
        assert await jobs.run_one(worker, now + timedelta(days=1)) is None

    async def test_a_run_the_database_failed_does_not_count_an_attempt(
        self, worker: Worker, settings: Settings, engine: AsyncEngine, monkeypatch: Any
    ) -> None:
        async def unavailable(worker: Worker, lease: Lease) -> None:
            raise DatabaseUnavailableError("the server is restarting")

        monkeypatch.setitem(jobs.HANDLERS, JobKind.PURGE, jobs.Handler(unavailable))
        worker = worker_on(Database.on(engine), settings, max_attempts=1)
        now = utc_now()
        async with worker.new_uow() as uow:
            job_id = await uow.jobs.enqueue(JobKind.PURGE, {}, run_at=now)
            await uow.commit()
        assert job_id is not None
        for _ in range(3):
            ran = await jobs.run_one(worker, now)
            assert ran is not None
            assert (ran.job_id, ran.outcome) == (job_id, Outcome.RETRYING)
            row = await job_row(engine, job_id)
            assert (row.status, row.attempts) == ("queued", 0)
            now = row.run_at


class TestLostLeases:
    async def test_a_run_whose_lease_was_taken_over_is_stopped(
        self, settings: Settings, engine: AsyncEngine, monkeypatch: Any
    ) -> None:
        """A job without steps (a purge, an expiry run) learns from its keep-alive that
        another worker holds it now, and its run is cancelled: never two runs side by side."""
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def endless(worker: Worker, lease: Lease) -> None:
            started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        monkeypatch.setitem(jobs.HANDLERS, JobKind.PURGE, jobs.Handler(endless))
        # Renewed every third of a second.
        worker = worker_on(Database.on(engine), settings, lease_seconds=1)
        now = utc_now()
        async with worker.new_uow() as uow:
            job_id = await uow.jobs.enqueue(JobKind.PURGE, {}, run_at=now)
            await uow.commit()
        assert job_id is not None
        running = asyncio.create_task(jobs.run_one(worker, now))
        await asyncio.wait_for(started.wait(), 10)
        # What a second worker's claim after a lapse leaves: another token on the row.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE jobs SET lease_token = gen_random_uuid() WHERE id = :id"),
                {"id": job_id},
            )

        ran = await asyncio.wait_for(running, 10)

        assert ran is not None
        assert (ran.job_id, ran.outcome) == (job_id, Outcome.LOST)
        assert cancelled.is_set()
        row = await job_row(engine, job_id)
        assert row.status == "running"  # the other worker's, untouched


@dataclass
class WorkerProcess:
    """`python -m app.worker` on the test database, its output collected as it comes (so that
    a full pipe never blocks it)."""

    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    reading: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: Settings) -> "WorkerProcess":
        env = clean_env(
            DATABASE_URL=settings.database_url,
            TESSERA_DB__POOLER=settings.db.pooler,
            TESSERA_JOBS__LEASE_SECONDS="2",
            TESSERA_JOBS__POLL_SECONDS="0.1",
            TESSERA_LOG_FORMAT="json",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.worker",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        started = cls(process)
        started.reading = asyncio.create_task(started._read())
        return started

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode())

    async def stop(self, sig: signal.Signals) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 30)
        if self.reading is not None:
            await self.reading
        return code

    def says(self) -> str:
        return "".join(self.output[-40:])


async def until(
    check: Callable[[], Awaitable[bool]], seconds: float, process: WorkerProcess
) -> None:
    """Poll check until it holds; fail after seconds, or if the worker exits."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert process.process.returncode is None, f"the worker exited:\n{process.says()}"
        assert asyncio.get_running_loop().time() < deadline, f"too slow:\n{process.says()}"
        await asyncio.sleep(0.01)


class TestWorkerProcess:
    REQUESTED, BATCH = 60_000, 2_000

    async def test_a_generation_killed_midway_is_finished_by_the_next_worker_exactly(
        self,
        settings: Settings,
        committing_factory: Factory,
        engine: AsyncEngine,
    ) -> None:
        campaign = await committing_factory.campaign()
        code_job = await pools.start_generation(
            committing_factory.uow(),
            campaign.id,
            await admin_key_id(committing_factory),
            GenerationTerms(count=self.REQUESTED),
            batch_size=self.BATCH,
        )

        async def code_job_row() -> Row[Any]:
            return await one(
                engine, "SELECT status, created FROM code_jobs WHERE id = :id", id=code_job.id
            )

        async def midway() -> bool:
            created: int = (await code_job_row()).created
            return created > 0

        first = await WorkerProcess.start(settings)
        try:
            await until(midway, 60, first)
        finally:
            killed = await first.stop(signal.SIGKILL)
        assert killed == -signal.SIGKILL

        # Killed in the middle: what the count says exists, and no more.
        created = (await code_job_row()).created
        assert 0 < created < self.REQUESTED, first.says()
        assert (await one(engine, CODES_OF, id=campaign.id)).codes == created

        async def succeeded() -> bool:
            status: str = (await code_job_row()).status
            return status == "succeeded"

        second = await WorkerProcess.start(settings)
        try:
            await until(succeeded, 120, second)
        finally:
            stopped = await second.stop(signal.SIGTERM)
        assert stopped == 0, second.says()

        done = await pools.get_job(committing_factory.uow(), code_job.id)
        counts = await one(engine, CODES_OF, id=campaign.id)
        assert done.created == done.requested == counts.codes == counts.distinct_codes
        assert done.requested == self.REQUESTED
        job = await one(
            engine,
            "SELECT status, attempts FROM jobs WHERE kind = 'generate_codes'"
            " AND payload->>'code_job_id' = :id",
            id=str(code_job.id),
        )
        assert (job.status, job.attempts) == ("succeeded", 2)

    async def test_a_stopped_worker_gives_its_generation_back_between_batches(
        self,
        settings: Settings,
        committing_factory: Factory,
        engine: AsyncEngine,
    ) -> None:
        campaign = await committing_factory.campaign()
        code_job = await pools.start_generation(
            committing_factory.uow(),
            campaign.id,
            await admin_key_id(committing_factory),
            GenerationTerms(count=self.REQUESTED),
            batch_size=self.BATCH,
        )

        async def midway() -> bool:
            created: int = (
                await one(engine, "SELECT created FROM code_jobs WHERE id = :id", id=code_job.id)
            ).created
            return created > 0

        worker = await WorkerProcess.start(settings)
        try:
            await until(midway, 60, worker)
        finally:
            stopped = await worker.stop(signal.SIGTERM)

        assert stopped == 0, worker.says()
        created = (await pools.get_job(committing_factory.uow(), code_job.id)).created
        assert 0 < created < self.REQUESTED
        assert (await one(engine, CODES_OF, id=campaign.id)).codes == created
        # Back in the queue, due at once, the stop not counted as an attempt.
        job = await one(
            engine,
            "SELECT status, attempts, lease_token, run_at <= now() AS due FROM jobs"
            " WHERE kind = 'generate_codes'",
        )
        assert (job.status, job.attempts, job.lease_token, job.due) == ("queued", 0, None, True)
