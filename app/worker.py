"""`python -m app.worker` (`make worker`): the process that reads the event feed for the
service's own jobs. It settles referrals (services/referrals.py), fans the feed out into
webhook deliveries and sends the due ones, again and again, until SIGTERM or SIGINT. All
its state is in PostgreSQL: it can be stopped, killed or run twice (app/services/webhooks.py),
and a slow or dead receiver only ever slows this process, never the checkout.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime

import httpx

from app.clock import utc_now
from app.db.engine import Database, create_engine
from app.db.errors import DATABASE_ERRORS
from app.db.uow import UnitOfWork
from app.logs import configure_logging
from app.services import referrals, webhooks
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


async def run(settings: Settings, stop: asyncio.Event) -> None:
    engine = create_engine(settings)
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    try:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            while not stop.is_set():
                try:
                    busy = await work_once(new_uow, client)
                    pause = 0.0 if busy else IDLE_SECONDS
                except DATABASE_ERRORS:
                    logger.exception("database unavailable; trying again")
                    pause = ERROR_SECONDS
                except Exception:
                    # Claims not recorded are taken over once their lease ends.
                    logger.exception("webhook round failed; trying again")
                    pause = ERROR_SECONDS
                if pause:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
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
        logger.info("worker started")
        await run(settings, stop)
        logger.info("worker stopped")

    asyncio.run(serve())


if __name__ == "__main__":
    main()
