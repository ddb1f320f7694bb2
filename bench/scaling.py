"""How the service scales with its processes, and what PgBouncer costs, measured in one run.

    make bench-scaling              # or: .venv/bin/python -m bench.scaling --help

For each configuration (1 and 2 uvicorn worker processes, each connected directly and through
a PgBouncer in transaction mode in front of the same local PostgreSQL; `--poolers` may add
`uncached`, direct without prepared statements, which splits PgBouncer's cost into what the
statement cache is worth and the rest) it starts the service on
a fresh `tessera_bench` database, seeds it through the API, and runs validate (5 lines, one
code) and redeem spread over 500 codes with wrk at each concurrency. Prints a table with each
configuration's rate next to the one-process direct rate, and writes it all to
bench/results/scaling-<time>.json. Numbers are printed, never asserted. On this two-core machine
PostgreSQL, wrk and PgBouncer share the cores with the service, so a second process can gain at
most what the first leaves idle.
"""

import argparse
import json
import os
import platform
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.db.engine import session_settings
from app.db.session_defaults import statements
from app.settings import DatabaseSettings
from bench.harness import (
    ROOT,
    SPREAD_CODES,
    Server,
    cart,
    database,
    ensure_wrk,
    log,
    psql,
    say,
    seed,
    wrk,
)
from tests.pgbouncer import PgBouncer, run_as

PORT = 8611


@dataclass
class Measured:
    pooler: str
    processes: int
    scenario: str
    concurrency: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def measure(
    pooler: str, processes: int, levels: list[int], seconds: int, wrk_bin: str
) -> list[Measured]:
    url = database()
    env = {
        "DATABASE_URL": url,
        "TESSERA_LOG_LEVEL": "warning",
        "TESSERA_BOOTSTRAP_ADMIN_KEY": "tsk_bench_admin_key",
    }
    bouncer = None
    folder = None
    if pooler == "uncached":
        # Direct, but without prepared statements, as behind PgBouncer: what they are worth.
        env["TESSERA_DB__STATEMENT_CACHE_SIZE"] = "0"
    if pooler == "pgbouncer":
        # The service's session settings as the role's defaults, as production needs them.
        psql(url, statements(session_settings(DatabaseSettings())))
        folder = Path(tempfile.mkdtemp(prefix="tessera-bench-pgbouncer-"))
        bouncer = PgBouncer(url, folder, run_as())
        env |= {"DATABASE_URL": bouncer.url("tessera_bench"), "TESSERA_DB__POOLER": "pgbouncer"}
    measured: list[Measured] = []
    service = Server("app.asgi:app", PORT, processes, env)
    try:
        data = seed(service.base)
        key = data["checkout_key"]
        validate_body = cart(5, codes=["BENCH5"])
        spread_body = cart(3, codes=["{code}"])
        for c in levels:
            runs = {
                "validate 5 lines": wrk(
                    wrk_bin, service.base, "/v1/validate", key, validate_body, c, seconds
                ),
                "redeem spread": wrk(
                    wrk_bin,
                    service.base,
                    "/v1/redeem",
                    key,
                    spread_body,
                    c,
                    seconds,
                    codes=SPREAD_CODES,
                    prefix="SPREAD-",
                    idempotent=True,
                    idem_prefix=f"{pooler}-{processes}-{c}-",
                ),
            }
            for scenario, raw in runs.items():
                rps = raw["requests"] / raw["seconds"] if raw["seconds"] else 0.0
                result = Measured(
                    pooler,
                    processes,
                    scenario,
                    c,
                    round(rps, 1),
                    raw["p50_ms"],
                    raw["p99_ms"],
                    raw["errors"] + raw["socket_errors"],
                )
                measured.append(result)
                log(
                    f"{pooler:9} x{processes} {scenario:17} c={c:<3} {rps:8.1f} req/s "
                    f"p50 {raw['p50_ms']:6.2f} ms p99 {raw['p99_ms']:6.2f} ms "
                    f"errors {result.errors}"
                )
    finally:
        service.stop()
        if bouncer is not None:
            bouncer.stop()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--poolers", default="none,pgbouncer")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--concurrency", default="16,64")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    wrk_bin = ensure_wrk()
    results: list[Measured] = []
    for pooler in args.poolers.split(","):
        for processes in (int(p) for p in args.processes.split(",")):
            results += measure(pooler, processes, levels, args.seconds, wrk_bin)

    base = {
        (r.scenario, r.concurrency): r.requests_per_second
        for r in results
        if r.pooler == "none" and r.processes == 1
    }
    say("")
    say(
        f"{'scenario':17} {'c':>3} {'pooler':9} {'procs':>5} {'req/s':>9} {'p99 ms':>8} vs 1 direct"
    )
    for r in sorted(results, key=lambda r: (r.scenario, r.concurrency, r.pooler, r.processes)):
        reference = base.get((r.scenario, r.concurrency))
        versus = f"{r.requests_per_second / reference:6.2f}x" if reference else "     -"
        say(
            f"{r.scenario:17} {r.concurrency:>3} {r.pooler:9} {r.processes:>5} "
            f"{r.requests_per_second:>9.1f} {r.p99_ms:>8.2f} {versus}"
        )
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"  # noqa: TID251
    out = ROOT / "bench" / "results" / f"scaling-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "run": stamp,
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                "seconds": args.seconds,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    say(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
