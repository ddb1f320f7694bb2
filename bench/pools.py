"""Pool generation throughput: codes per second written by a generation job (CSPRNG draw, COPY
into a staging table, INSERT ... ON CONFLICT DO NOTHING with the counter rows), next to a
ceiling measured in the same run: PostgreSQL taking the same number of codes of the same spec,
drawn the same way batch by batch, by a plain COPY into a scratch table with the unique index
codes.normalised_code has. Printed with issue 13's targets and written to
bench/results/pools-<time>.json, never asserted. Uses a fresh tessera_bench database on the
local PostgreSQL.

    .venv/bin/python -m bench.pools [--counts 100000,1000000]
"""

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import time
from typing import Any, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.db.engine import Database, create_engine
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import Scope
from app.domain.benefits import PercentOff
from app.domain.codegen import CodeSpec, generate
from app.domain.conditions import Conditions, Target
from app.domain.rules import Rules
from app.services import api_keys, campaigns, jobs, pools
from app.services.campaigns import CampaignTerms
from app.services.pools import BATCH_SIZE, GenerationTerms
from app.settings import Settings
from bench.harness import ROOT, database, log, psql, say
from bench.targets import Target as IssueTarget
from bench.targets import ratio, report

CEILING_TABLE = "bench_pool_ceiling"
MILLION, MILLION_SECONDS = 1_000_000, 15.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def copy_ceiling(engine: AsyncEngine, spec: CodeSpec, count: int) -> float:
    """Seconds for `count` codes of `spec` to be drawn in Python and copied into a fresh table
    with codes.normalised_code's unique index, BATCH_SIZE at a time like the job, each batch one
    COPY and its own transaction (as each of the job's batches is one). A batch that draws a
    code already there is drawn again, as the job's losers are."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        # The driver's own calls run outside any transaction of SQLAlchemy's: one COPY, one
        # transaction.
        driver = cast(asyncpg.Connection, raw.driver_connection)
        await driver.execute(
            f"DROP TABLE IF EXISTS {CEILING_TABLE};"
            f"CREATE TABLE {CEILING_TABLE} (code varchar(64) NOT NULL,"
            " normalised_code varchar(64) NOT NULL,"
            f" CONSTRAINT uq_{CEILING_TABLE}_normalised_code UNIQUE (normalised_code))"
        )
        started = time.perf_counter()
        remaining = count
        while remaining > 0:
            batch = generate(spec, min(BATCH_SIZE, remaining))
            try:
                await driver.copy_records_to_table(
                    CEILING_TABLE,
                    records=[(code, code.lower()) for code in batch],
                    columns=["code", "normalised_code"],
                )
            except asyncpg.UniqueViolationError:
                continue
            remaining -= len(batch)
        seconds = time.perf_counter() - started
        stored = await driver.fetchval(f"SELECT count(*) FROM {CEILING_TABLE}")
        await driver.execute(f"DROP TABLE {CEILING_TABLE}")
    assert stored == count, (stored, count)
    return seconds


async def run(url: str, counts: list[int]) -> dict[str, Any]:
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    # The job runs here as a worker process runs it (app/worker.py), without the wait for its
    # poll.
    worker = jobs.Worker(
        new_uow, lambda: StatementUnitOfWork(database.connect_for_read), settings, "bench"
    )

    key = await api_keys.create_api_key(new_uow(), "bench", [Scope.ADMIN], actor=None)
    # As the worker's start-up does (app/worker.py): the jobs run with what was built so far
    # frozen out of the collector's passes.
    gc.freeze()
    results: list[dict[str, Any]] = []
    for count in counts:
        rules = Rules(
            effects=(PercentOff(basis_points=1000),), target=Target(), conditions=Conditions()
        )
        campaign = await campaigns.create_campaign(
            new_uow(), CampaignTerms(name=f"pool {count}", rules=rules), actor=None
        )
        terms = GenerationTerms(count=count)
        # Each timing starts from a checkpoint, so that neither pays for the other's WAL.
        psql(url, "CHECKPOINT")
        ceiling = await copy_ceiling(engine, terms.code_spec(), count)
        log(f"ceiling: {count:,} codes copied in {ceiling:.1f} s ({count / ceiling:,.0f}/s)")
        psql(url, "CHECKPOINT")
        started = time.perf_counter()
        job = await pools.start_generation(new_uow(), campaign.id, key.record.id, terms)
        ran = await jobs.run_one(worker, utc_now())
        assert ran is not None
        assert ran.outcome is jobs.Outcome.SUCCEEDED, ran
        seconds = time.perf_counter() - started
        done = await pools.get_job(new_uow(), job.id)
        async with engine.connect() as conn:
            stored = await conn.scalar(
                text("SELECT count(*) FROM codes WHERE campaign_id = :id"), {"id": campaign.id}
            )
        assert done.created == stored == count, (done, stored)
        log(f"generation: {count:,} codes in {seconds:.1f} s ({count / seconds:,.0f}/s)")
        results.append(
            {
                "codes": count,
                "seconds": round(seconds, 2),
                "codes_per_second": round(count / seconds),
                "ceiling_seconds": round(ceiling, 2),
                "ceiling_codes_per_second": round(count / ceiling),
                "ratio": round(ceiling / seconds, 3),
                "peak_rss_mb": round(_peak_rss_mb()),
            }
        )
    await engine.dispose()

    say("")
    say(f"machine: {platform.machine()}, {os.cpu_count()} cores; batch {BATCH_SIZE:,} codes")
    say(
        f"{'codes':>10} {'seconds':>8} {'codes/s':>9} {'ceiling s':>10} {'ceiling/s':>10} "
        f"{'of ceiling':>11} {'peak RSS MB':>12}"
    )
    for r in results:
        say(
            f"{r['codes']:>10,} {r['seconds']:>8.1f} {r['codes_per_second']:>9,} "
            f"{r['ceiling_seconds']:>10.1f} {r['ceiling_codes_per_second']:>10,} "
            f"{r['ratio']:>11.0%} {r['peak_rss_mb']:>12}"
        )
    targets = [
        ratio(
            f"generation / COPY ceiling at {r['codes']:,} codes",
            r["codes_per_second"],
            r["ceiling_codes_per_second"],
            at_least=0.5,
            of="codes/s",
        )
        for r in results
    ]
    million = next((r for r in results if r["codes"] == MILLION), None)
    targets.append(
        IssueTarget(
            f"{MILLION:,} codes generated in under {MILLION_SECONDS:.0f} s",
            f"< {MILLION_SECONDS:.0f} s",
            f"{million['seconds']:.1f} s ({million['codes_per_second']:,} codes/s)"
            if million
            else f"not measured in this run (no {MILLION:,} in --counts)",
            million["seconds"] < MILLION_SECONDS if million else None,
            million["seconds"] if million else None,
        )
    )
    return {"results": results, "targets": report(targets)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="100000,1000000")
    args = parser.parse_args()
    log("preparing a fresh tessera_bench database")
    measured = asyncio.run(run(database(), [int(c) for c in args.counts.split(",")]))
    out = ROOT / "bench" / "results" / f"pools-{utc_now():%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": platform.machine(),
                "cores": os.cpu_count(),
                "batch": BATCH_SIZE,
                **measured,
            },
            indent=2,
        )
    )
    log(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
