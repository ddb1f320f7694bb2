"""Pool generation throughput: codes per second written by a generation job (CSPRNG draw, COPY
into a staging table, INSERT ... ON CONFLICT DO NOTHING with the counter rows), printed, never
asserted. Uses a fresh tessera_bench database on the local PostgreSQL (or DATABASE_URL's server).

    .venv/bin/python -m bench.pools [--counts 100000,1000000]
"""

import argparse
import asyncio
import os
import platform
import resource
import time

from sqlalchemy import text

from app.db.engine import create_engine, create_sessionmaker
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.domain.benefits import PercentOff
from app.domain.conditions import Conditions, Target
from app.domain.rules import Rules
from app.services import api_keys, campaigns, pools
from app.services.campaigns import CampaignTerms
from app.services.pools import BATCH_SIZE, GenerationTerms
from app.settings import Settings
from bench.harness import database, say


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(url: str, counts: list[int]) -> None:
    engine = create_engine(Settings(database_url=url))
    sessions = create_sessionmaker(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(sessions)

    key = await api_keys.create_api_key(new_uow(), "bench", [Scope.ADMIN], actor=None)
    say(f"machine: {platform.machine()}, {os.cpu_count()} cores; batch {BATCH_SIZE:,} codes")
    say(f"{'codes':>10} {'seconds':>8} {'codes/s':>9} {'peak RSS MB':>12}")
    for count in counts:
        rules = Rules(
            effects=(PercentOff(basis_points=1000),), target=Target(), conditions=Conditions()
        )
        campaign = await campaigns.create_campaign(
            new_uow(), CampaignTerms(name=f"pool {count}", rules=rules), actor=None
        )
        terms = GenerationTerms(count=count)
        started = time.perf_counter()
        job = await pools.start_generation(new_uow(), campaign.id, key.record.id, terms)
        await pools.run_generation(new_uow, job, terms)
        seconds = time.perf_counter() - started
        done = await pools.get_job(new_uow(), job.id)
        async with engine.connect() as conn:
            stored = await conn.scalar(
                text("SELECT count(*) FROM codes WHERE campaign_id = :id"), {"id": campaign.id}
            )
        assert done.created == stored == count, (done, stored)
        say(f"{count:>10,} {seconds:>8.1f} {count / seconds:>9,.0f} {_peak_rss_mb():>12.0f}")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="100000,1000000")
    args = parser.parse_args()
    asyncio.run(run(database(), [int(c) for c in args.counts.split(",")]))


if __name__ == "__main__":
    main()
