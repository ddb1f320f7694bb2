"""Loyalty balances under load: the balance read (one member with many lots, and spread over
many members) and the reward spend (all on one member's balance, whose account lock makes
spends queue, and spread over many), at each concurrency. Prints a table, writes
bench/results/loyalty-<time>.json and checks the ledger afterwards: points spent equal the
spends that succeeded, and nothing was overdrawn; then issue 13's target (the spread reward
spend against the spread balance read, at 16 clients) with its ratio. Numbers are printed,
never asserted.

    make bench-loyalty              # or: .venv/bin/python -m bench.loyalty --help
"""

import argparse
import json
import os
import platform
from typing import Any

import httpx

from app.clock import utc_now
from bench.harness import ADMIN_KEY, ROOT, Server, database, ensure_wrk, log, psql, say, wrk
from bench.targets import ratio, report

MEMBERS = 1_000
HOT_LOTS = 50
POINTS_PER_LOT = 10_000


def seed(base: str) -> dict[str, str]:
    """A program (1 point per minor unit, spendable at once), a 1-point reward, one member with
    HOT_LOTS lots and MEMBERS members with one lot each, through the public API."""
    admin = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )
    key = admin.post("/v1/api-keys", json={"name": "bench checkout", "scopes": ["checkout"]})
    key.raise_for_status()
    checkout = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key.json()['key']}"}, timeout=30
    )
    program = admin.post(
        "/v1/loyalty/programs",
        json={
            "name": "bench",
            "currency": "EUR",
            "earn_rate": {"points": 1, "per_amount": 1},
            "expiry_days": 365,
            "tiers": [
                {"key": "member", "label": "Member", "threshold": 0},
                {"key": "gold", "label": "Gold", "threshold": 10**9, "multiplier_percent": 300},
            ],
        },
    )
    program.raise_for_status()
    program_id = program.json()["id"]
    reward = admin.post(
        f"/v1/loyalty/programs/{program_id}/rewards",
        json={"name": "bench", "points_cost": 1, "amount_off": 1},
    )
    reward.raise_for_status()

    def earn(customer: str, order: str) -> None:
        response = checkout.post(
            f"/v1/loyalty/programs/{program_id}/earnings",
            json={
                "customer_id": customer,
                "order_id": order,
                "amount": POINTS_PER_LOT,
                "currency": "EUR",
            },
        )
        response.raise_for_status()

    for n in range(HOT_LOTS):
        earn("hot", f"hot-{n}")
    for n in range(MEMBERS):
        earn(f"m{n}", f"m-{n}")
    return {
        "program": program_id,
        "reward": reward.json()["id"],
        "checkout_key": key.json()["key"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", default="1,16,64")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    wrk_bin = ensure_wrk()
    log("preparing a fresh tessera_bench database")
    url = database()
    env = {
        "DATABASE_URL": url,
        "TESSERA_LOG_LEVEL": "warning",
        "TESSERA_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    }
    results: list[dict[str, Any]] = []
    service = Server("app.asgi:app", 8603, args.workers, env)
    try:
        log(f"seeding a program, one member with {HOT_LOTS} lots and {MEMBERS:,} members")
        data = seed(service.base)
        members = f"/v1/loyalty/programs/{data['program']}/members"
        spend = json.dumps({"reward_id": data["reward"]})
        scenarios: list[tuple[str, dict[str, Any]]] = [
            ("balance read, one member", {"method": "GET", "path_template": f"{members}/hot"}),
            (
                f"balance read, {MEMBERS:,} members",
                {"method": "GET", "path_template": f"{members}/{{code}}", "codes": MEMBERS},
            ),
            (
                "reward spend, one member",
                {"path_template": f"{members}/hot/reward-redemptions", "idempotent": True},
            ),
            (
                f"reward spend, {MEMBERS:,} members",
                {
                    "path_template": f"{members}/{{code}}/reward-redemptions",
                    "codes": MEMBERS,
                    "idempotent": True,
                },
            ),
        ]
        for c in levels:
            for name, options in scenarios:
                raw = wrk(
                    wrk_bin,
                    service.base,
                    "/",
                    data["checkout_key"],
                    spend,
                    c,
                    args.seconds,
                    prefix="m",
                    **options,
                )
                rps = raw["requests"] / raw["seconds"] if raw["seconds"] else 0.0
                results.append(
                    {"scenario": name, "concurrency": c, "requests_per_second": round(rps, 1)}
                    | {k: raw[k] for k in ("p50_ms", "p99_ms", "ok", "refused", "errors")}
                )
                log(
                    f"{name:32} c={c:<3} {rps:9.1f} req/s  p50 {raw['p50_ms']:7.2f} ms  "
                    f"p99 {raw['p99_ms']:7.2f} ms  ok {raw['ok']} refused {raw['refused']} "
                    f"errors {raw['errors'] + raw['socket_errors']}"
                )
    finally:
        service.stop()

    # wrk stops counting at the end of a run while requests are still in flight, so the
    # ledger can hold a few more spends than wrk saw; every spend must still have made exactly
    # one code, and the points must add up.
    answered = sum(r["ok"] for r in results if r["scenario"].startswith("reward spend"))
    spends = int(psql(url, "SELECT count(*) FROM ledger_entries WHERE kind = 'spend'"))
    spent = -int(
        psql(url, "SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE kind = 'spend'")
    )
    codes = int(psql(url, "SELECT count(*) FROM codes WHERE source = 'reward'"))
    remaining = int(psql(url, "SELECT sum(remaining) FROM ledger_lots"))
    earned = (HOT_LOTS + MEMBERS) * POINTS_PER_LOT
    exact = spends == spent == codes >= answered and remaining == earned - spent
    say("")
    say(f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.workers} workers")
    say(f"{'scenario':34} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        say(
            f"{r['scenario']:34} {r['concurrency']:>3} {r['requests_per_second']:>9,.1f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>7}"
        )
    say(
        f"ledger: {answered:,} spends answered 201 before wrk stopped, {spends:,} spend entries, "
        f"{codes:,} reward codes, {spent:,} points spent, {remaining:,} of {earned:,} left -> "
        f"{'exact' if exact else 'MISMATCH'}"
    )
    rates = {(r["scenario"], r["concurrency"]): r["requests_per_second"] for r in results}
    targets = report(
        [
            ratio(
                "reward spend spread / balance read spread at c=16",
                rates.get((f"reward spend, {MEMBERS:,} members", 16)),
                rates.get((f"balance read, {MEMBERS:,} members", 16)),
                at_least=0.5,
            )
        ]
    )
    out = ROOT / "bench" / "results" / f"loyalty-{utc_now():%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": platform.machine(),
                "cores": os.cpu_count(),
                "workers": args.workers,
                "seconds": args.seconds,
                "results": results,
                "ledger": {
                    "answered": answered,
                    "spends": spends,
                    "codes": codes,
                    "spent": spent,
                    "remaining": remaining,
                    "exact": exact,
                },
                "targets": targets,
            },
            indent=2,
        )
    )
    log(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
