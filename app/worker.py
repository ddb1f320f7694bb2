"""`python -m app.worker` (`make worker`): the process that does the service's work outside
requests, in two loops side by side, until SIGTERM or SIGINT.

- The event feed: it settles referrals (services/referrals.py), fans the feed out into webhook
  deliveries and sends the due ones, again and again.
- Durable jobs (services/jobs.py): pool code generation, and the periodic loyalty expiry, hold
  sweeps and purges, which every tick enqueues once per slot. A job as long as a million codes
  runs in its own loop, so it never delays a webhook.

All its state is in PostgreSQL: it can be stopped, killed or run twice. A killed worker's
webhook claims and job leases lapse and another worker (or this one, restarted) takes them
over; a slow or dead receiver only ever slows this process, never the checkout.
"""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx

from app.clock import utc_now
from app.db.engine import Database, create_engine
from app.db.errors import DATABASE_ERRORS
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.logs import configure_logging
from app.services import jobs, referrals, webhooks
from app.settings import Settings, get_settings

logger = logging.getLogger("tessera.worker")

# How long the worker sleeps when there was nothing to do, and after a database error.
IDLE_SECONDS = 1.0
ERROR_SECONDS = 5.0


async def work_once(
    new_uow: Callable[[], UnitOfWork], client: httpx.AsyncClient, now: datetime | None = None
) -> int:
    """One round at now (the wall clock's by default): settle referrals, fan out, then send
    what is due. How much it did (events read, deliveries tried, referrals settled): 0 when
    there was nothing to do."""
    now = now or utc_now()
    try:
        settled = await referrals.settle(new_uow(), now)
    except DATABASE_ERRORS:
        raise
    except Exception:
        # Webhooks go on whatever happens to the referrals (whose round runs again next time).
        logger.exception("referral settlement failed; trying again")
        settled = referrals.Settled(0, 0, 0, 0, 0)
    made = await webhooks.fan_out(new_uow(), now)
    sent = await webhooks.deliver_due(new_uow, client, now)
    if made or sent.delivered or sent.failed:
        logger.info(
            "webhooks",
            extra={"made": made, "delivered": sent.delivered, "failed": sent.failed},
        )
    if settled.rewarded or settled.refused or settled.cancelled:
        logger.info(
            "referrals",
            extra={
                "rewarded": settled.rewarded,
                "refused": settled.refused,
                "cancelled": settled.cancelled,
            },
        )
    return (
        made + sent.delivered + sent.failed + settled.scanned + settled.rewarded + settled.refused
    )


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _repeat(
    one_round: Callable[[], Awaitable[bool]], idle: float, what: str, stop: asyncio.Event
) -> None:
    """one_round again and again until stop is set: at once while it finds work, after idle
    seconds when it found none, after ERROR_SECONDS when it failed. A round that could not
    record what it claimed leaves it to be taken over once its lease lapses."""
    while not stop.is_set():
        try:
            pause = 0.0 if await one_round() else idle
        except DATABASE_ERRORS:
            logger.exception("database unavailable; trying again")
            pause = ERROR_SECONDS
        except Exception:
            logger.exception("%s round failed; trying again", what)
            pause = ERROR_SECONDS
        if pause:
            await _pause(stop, pause)


async def run_events(
    new_uow: Callable[[], UnitOfWork], client: httpx.AsyncClient, stop: asyncio.Event
) -> None:
    """Referral and webhook rounds until stop is set."""

    async def one_round() -> bool:
        return await work_once(new_uow, client) > 0

    await _repeat(one_round, IDLE_SECONDS, "webhook", stop)


async def run_jobs(worker: jobs.Worker, stop: asyncio.Event) -> None:
    """Tick the schedule and run due jobs one at a time until stop is set. On stop the job
    running finishes, or, if it works in steps, gives itself back between two; a worker killed
    outright leaves its job to whoever claims it once its lease has lapsed."""

    async def one_round() -> bool:
        now = utc_now()
        await jobs.enqueue_scheduled(worker.new_uow(), now)
        return await jobs.run_one(worker, now) is not None

    await _repeat(one_round, worker.settings.jobs.poll_seconds, "job", stop)


def worker_name() -> str:
    """host:pid, naming this worker in the logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings)
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    def new_statements() -> StatementUnitOfWork:
        return StatementUnitOfWork(database.connect_for_read)

    worker = jobs.Worker(new_uow, new_statements, settings, worker_name(), stop.is_set)
    try:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            await asyncio.gather(run_events(new_uow, client, stop), run_jobs(worker, stop))
    finally:
        await engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        logger.info("worker started", extra={"worker": worker_name()})
        # What start-up built lives as long as the process: frozen, the collector's full
        # passes walk only what jobs make. A million-code pool job spent 1.6 s of its 3.5 s of
        # CPU in them without it (its wall time is PostgreSQL's writing).
        gc.freeze()
        await run(settings, stop)
        logger.info("worker stopped")

    asyncio.run(serve())


if __name__ == "__main__":
    main()
