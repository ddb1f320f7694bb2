"""Durable jobs, run by the workers (app/worker.py) from a queue kept in PostgreSQL.

A job is claimed with FOR UPDATE SKIP LOCKED and a lease: a fresh token, valid until
lease_seconds from the claim and renewed while the job runs. Every write the run makes about the
job is fenced by that token, so when a worker dies (killed, its host lost) its lease lapses,
another worker claims the job, and the dead one's token no longer moves anything. A run that
fails is tried again with backoff, and ends as failed after max_attempts runs.

The periodic jobs (loyalty expiry, hold sweeps, purges) are enqueued by every worker's tick,
once per slot of their schedule: the slot's dedupe_key makes one row of them however many
workers tick at once. No cron is needed, and no worker is special.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from app.db.errors import DATABASE_ERRORS, is_database_unavailable
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.jobs import Job, JobKind, JobStatus, Periodic, backoff, retry_after
from app.logs import describe_exception
from app.services import expiry, holds, pools, purges
from app.settings import Settings

logger = logging.getLogger("tessera.jobs")

SCHEDULE = (
    Periodic("expire_points", JobKind.EXPIRE_POINTS, timedelta(minutes=5)),
    Periodic("lapse_holds", JobKind.LAPSE_HOLDS, timedelta(seconds=30)),
    Periodic("purge", JobKind.PURGE, timedelta(hours=1)),
)
# Holds one sweep releases per round, as /v1/hold-lapse-runs does; a sweep runs rounds until one
# releases fewer.
HOLD_SWEEP_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class Worker:
    """What jobs run with: units of work, autocommit statements (the hold sweep's), the
    settings, a name for the logs, and whether the worker has been asked to stop."""

    new_uow: Callable[[], UnitOfWork]
    new_statements: Callable[[], StatementUnitOfWork]
    settings: Settings
    name: str = "worker"
    stopping: Callable[[], bool] = lambda: False


class LeaseLost(Exception):
    """The job is no longer this run's: its lease lapsed and another worker claimed it, or it
    ended. The run must stop; the transaction that found out changed nothing."""


class Stopping(Exception):
    """The worker is stopping: the run gives its job back between two steps."""


class Lease:
    """A claimed job and its token. Its clock starts at the instant the job was claimed at and
    runs with the monotonic clock, so a run's times follow the `now` it was given (tests move
    it) rather than the wall clock's."""

    def __init__(self, job: Job, worker: Worker, claimed_at: datetime) -> None:
        assert job.lease_token is not None, "a claimed job has a lease"
        self.job = job
        self.token: UUID = job.lease_token
        self.lasts = timedelta(seconds=worker.settings.jobs.lease_seconds)
        self._worker = worker
        self._claimed_at = claimed_at
        self._started = time.monotonic()
        self.lost = False
        """Another worker holds the job now (found by the keep-alive)."""

    def now(self) -> datetime:
        return self._claimed_at + timedelta(seconds=time.monotonic() - self._started)

    async def renew(self, uow: UnitOfWork) -> bool:
        """In uow's transaction: extend the lease (locking the job's row until the transaction
        ends); False when the job is no longer this run's."""
        now = self.now()
        return await uow.jobs.renew(self.job.id, self.token, now, now + self.lasts)

    async def begin_step(self, uow: UnitOfWork) -> None:
        """First in each transaction of a job that works in steps: raises Stopping when the
        worker is stopping, LeaseLost when the job is no longer this run's (so nothing of the
        step is committed); otherwise the lease is renewed and the job's row is this
        transaction's until it ends, so no other worker can claim the job meanwhile."""
        if self._worker.stopping():
            raise Stopping
        if not await self.renew(uow):
            raise LeaseLost(f"job {self.job.id} is no longer this run's")


def _payload_int(job: Job, name: str, default: int) -> int:
    value = job.payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"The job's {name} must be a positive integer, not {value!r}.")
    return value


def _code_job_id(job: Job) -> UUID:
    return UUID(str(job.payload["code_job_id"]))


async def _generate_codes(worker: Worker, lease: Lease) -> None:
    batch_size = _payload_int(lease.job, "batch_size", pools.BATCH_SIZE)
    await pools.run_generation(
        worker.new_uow, _code_job_id(lease.job), lease.begin_step, batch_size
    )


async def _give_up_generation(uow: UnitOfWork, job: Job, reason: str) -> None:
    await pools.fail_generation(uow, _code_job_id(job), reason)


async def _expire_points(worker: Worker, lease: Lease) -> None:
    run = await expiry.expire(worker.new_uow(), lease.now())
    if run.lots:
        logger.info(
            "expired", extra={"accounts": run.accounts, "lots": run.lots, "amount": run.amount}
        )


async def _lapse_holds(worker: Worker, lease: Lease) -> None:
    total = 0
    while True:
        released = await holds.lapse_run(
            worker.new_statements(), worker.new_uow(), lease.now(), HOLD_SWEEP_LIMIT
        )
        total += released
        if released < HOLD_SWEEP_LIMIT:
            break
    if total:
        logger.info("holds lapsed", extra={"released": total})


async def _purge(worker: Worker, lease: Lease) -> None:
    window = timedelta(seconds=worker.settings.guesses.window_seconds)
    run = await purges.purge(worker.new_uow(), lease.now(), window)
    deleted = asdict(run)
    if any(deleted.values()):
        logger.info("purged", extra=deleted)


@dataclass(frozen=True, slots=True)
class Handler:
    """How a kind of job runs, and what else ends with it when it fails for good (in the
    transaction that ends the job)."""

    run: Callable[[Worker, Lease], Coroutine[Any, Any, None]]
    give_up: Callable[[UnitOfWork, Job, str], Awaitable[None]] | None = None


HANDLERS: dict[JobKind, Handler] = {
    JobKind.GENERATE_CODES: Handler(_generate_codes, _give_up_generation),
    JobKind.EXPIRE_POINTS: Handler(_expire_points),
    JobKind.LAPSE_HOLDS: Handler(_lapse_holds),
    JobKind.PURGE: Handler(_purge),
}
assert HANDLERS.keys() == set(JobKind), "every kind of job the queue claims has a handler"


async def enqueue_scheduled(
    uow: UnitOfWork, now: datetime, schedule: tuple[Periodic, ...] = SCHEDULE
) -> int:
    """Queue each periodic job for the slot now is in, unless some worker already did; how
    many this call queued. Workers ticking at once insert the same keys in the same order, so
    they wait on each other's keys without deadlocking, and each slot becomes one job."""
    queued = 0
    async with uow:
        for entry in schedule:
            job_id = await uow.jobs.enqueue(
                entry.kind, {}, run_at=entry.slot(now), dedupe_key=entry.dedupe_key(now)
            )
            queued += job_id is not None
        await uow.commit()
    return queued


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    """Failed; queued again for after its backoff."""
    FAILED = "failed"
    """Failed for good: no attempt left."""
    LOST = "lost"
    """Another worker took the job over; this run stopped."""
    RELEASED = "released"
    """The worker is stopping: the job was given back, due at once."""


@dataclass(frozen=True, slots=True)
class Ran:
    """What one run of a job came to."""

    job_id: UUID
    kind: JobKind
    attempt: int
    outcome: Outcome
    error: str | None = None


async def run_one(worker: Worker, now: datetime) -> Ran | None:
    """Claim the oldest due job at now and run it to its end; None when nothing was due. A
    job found with its attempts used up (the worker of its last attempt died) is not run but
    ended as failed."""
    terms = worker.settings.jobs
    async with worker.new_uow() as uow:
        job = await uow.jobs.claim(now, now + timedelta(seconds=terms.lease_seconds))
        await uow.commit()
    if job is None:
        return None
    lease = Lease(job, worker, now)
    handler = HANDLERS[job.kind]
    context = {"job_id": str(job.id), "kind": job.kind.value, "attempt": job.attempts}
    logger.debug("job claimed", extra={"worker": worker.name, **context})
    if job.attempts > terms.max_attempts:
        reason = f"Its worker stopped during the last of its {terms.max_attempts} attempts."
        outcome = await _give_up(worker, lease, handler, reason, ran=False)
        return Ran(job.id, job.kind, job.attempts, outcome, reason)

    failure: Exception | None = None
    running = asyncio.create_task(handler.run(worker, lease))
    keeping = asyncio.create_task(_keep_alive(worker, lease, running))
    try:
        await running
    except (LeaseLost, Stopping) as exc:
        failure = exc
    except asyncio.CancelledError:
        if not lease.lost:
            raise  # the worker itself is being cancelled
        failure = LeaseLost(f"job {job.id} was taken over while it ran")
    except Exception as exc:
        logger.exception("job failed", extra={"worker": worker.name, **context})
        failure = exc
    finally:
        keeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeping

    error: str | None = None
    if failure is None:
        async with worker.new_uow() as uow:
            finished = await uow.jobs.finish(job.id, lease.token, JobStatus.SUCCEEDED, lease.now())
            await uow.commit()
        outcome = Outcome.SUCCEEDED if finished else Outcome.LOST
    elif isinstance(failure, LeaseLost):
        outcome = Outcome.LOST
    elif isinstance(failure, Stopping):
        async with worker.new_uow() as uow:
            released = await uow.jobs.release(job.id, lease.token, lease.now())
            await uow.commit()
        outcome = Outcome.RELEASED if released else Outcome.LOST
    else:
        error = describe_exception(failure)
        outcome = await _failed(
            worker, lease, handler, error, counted=not is_database_unavailable(failure)
        )
    logger.info("job ended", extra={"worker": worker.name, "outcome": outcome.value, **context})
    return Ran(job.id, job.kind, job.attempts, outcome, error)


async def _failed(
    worker: Worker, lease: Lease, handler: Handler, error: str, *, counted: bool
) -> Outcome:
    """After a failed run: queue the job again after its backoff, or end it if that was its
    last attempt. A run the database failed (a restart, a failover) is not counted: the job
    waits and runs again, however long the database takes to come back."""
    if counted:
        wait = retry_after(lease.job.attempts, worker.settings.jobs.max_attempts)
    else:
        wait = backoff(lease.job.attempts)
    if wait is None:
        reason = f"Gave up after {lease.job.attempts} attempts; the last failed with {error}."
        return await _give_up(worker, lease, handler, reason)
    now = lease.now()
    async with worker.new_uow() as uow:
        queued = await uow.jobs.retry(
            lease.job.id, lease.token, now, now + wait, error, counted=counted
        )
        await uow.commit()
    return Outcome.RETRYING if queued else Outcome.LOST


async def _give_up(
    worker: Worker, lease: Lease, handler: Handler, reason: str, *, ran: bool = True
) -> Outcome:
    """End the job as failed, and what its handler ends with it, in one transaction."""
    async with worker.new_uow() as uow:
        ended = await uow.jobs.finish(
            lease.job.id, lease.token, JobStatus.FAILED, lease.now(), reason, ran=ran
        )
        if not ended:
            return Outcome.LOST
        if handler.give_up is not None:
            await handler.give_up(uow, lease.job, reason)
        await uow.commit()
    return Outcome.FAILED


async def _keep_alive(worker: Worker, lease: Lease, running: "asyncio.Task[None]") -> None:
    """Renew the lease every third of it while the run goes on, each time in a transaction of
    its own, so that a job running longer than one lease keeps it. Jobs that work in steps
    renew in each step too (Lease.begin_step): that is their fence. For the others this is:
    when the lease turns out lost (another worker claimed the job after it lapsed), the run is
    cancelled, so that two runs of one job never go on side by side."""
    every = lease.lasts.total_seconds() / 3
    while True:
        finished, _ = await asyncio.wait({running}, timeout=every)
        if finished:
            return
        try:
            async with worker.new_uow() as uow:
                kept = await lease.renew(uow)
                await uow.commit()
        except DATABASE_ERRORS:
            # The next renewal may get through; a lease that lapses meanwhile is taken over.
            logger.warning("could not renew a job's lease", exc_info=True)
            continue
        if not kept:
            lease.lost = True
            running.cancel()
            return
