"""Purging what has served its time, so that nothing grows without bound: idempotency keys
past their lifetime, failed-guess windows that have ended, customers' logged verdicts after
30 days, events (with their webhook deliveries) after 30 days and finished jobs after 7. The
workers run it hourly (services/jobs.py); runs may overlap."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db.repositories.idempotency import KEY_LIFETIME
from app.db.repositories.purges import PurgeRepository
from app.db.uow import UnitOfWork

# Rows per transaction: short transactions keep locks and WAL bursts small.
BATCH = 5_000


# How long support can see a customer's refused codes.
VERDICTS_KEPT = timedelta(days=30)
# How long the event feed keeps an event (and webhooks its deliveries): a consumer or an
# endpoint further behind than this misses what was purged.
EVENTS_KEPT = timedelta(days=30)
# How long a finished job is kept (for looking into a failure).
JOBS_KEPT = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PurgeRun:
    idempotency_keys: int
    guess_windows: int
    verdicts: int
    events: int
    jobs: int


async def purge(uow: UnitOfWork, now: datetime, guess_window: timedelta) -> PurgeRun:
    """Delete expired idempotency keys, ended failed-guess windows, old logged verdicts, old
    events and old finished jobs, a batch per transaction,
    until none is left. Purges running at once skip the rows the other holds, so each row is
    deleted once and neither waits."""
    keys = await _drain(uow, lambda purges: purges.idempotency_keys(now - KEY_LIFETIME, BATCH))
    windows = await _drain(uow, lambda purges: purges.guess_windows(now - guess_window, now, BATCH))
    verdicts = await _drain(uow, lambda purges: purges.verdicts(now - VERDICTS_KEPT, BATCH))
    events = await _drain(uow, lambda purges: purges.events(now - EVENTS_KEPT, BATCH))
    jobs = await _drain(uow, lambda purges: purges.jobs(now - JOBS_KEPT, BATCH))
    return PurgeRun(
        idempotency_keys=keys, guess_windows=windows, verdicts=verdicts, events=events, jobs=jobs
    )


async def _drain(uow: UnitOfWork, delete_batch: Callable[[PurgeRepository], Awaitable[int]]) -> int:
    deleted = 0
    while True:
        async with uow:
            count = await delete_batch(uow.purges)
            await uow.commit()
        deleted += count
        if count < BATCH:
            return deleted
