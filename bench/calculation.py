"""Evaluations per second of the pure engine (no I/O), printed, never asserted.

    .venv/bin/python -m bench.calculation [--seconds 2]

Carts: 5 lines with 1 code, 5 lines with 3 stacked codes, 200 lines with 3 stacked codes.
"""

import argparse
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from uuid import uuid4

from app.domain.cart import Cart, CartLine
from app.domain.codes import normalise
from app.domain.context import EvaluationContext
from app.domain.engine import evaluate
from app.domain.rules import AmountOff, Benefit, PercentOff, Promotion

CTX = EvaluationContext(now=datetime(2026, 11, 23, 12, tzinfo=UTC), customer_id="cus_1")


def _promotion(code: str, benefit: Benefit) -> Promotion:
    return Promotion(
        code_id=uuid4(),
        campaign_id=uuid4(),
        code=code,
        benefit=benefit,
        is_active=True,
        currency="EUR",
        min_subtotal_amount=1000,
        starts_at=None,
        ends_at=None,
        expires_at=None,
        bound_customer_id=None,
        max_redemptions=500,
        redemption_count=10,
        per_customer_limit=1,
        customer_redemption_count=0,
        campaign_per_customer_limit=None,
        campaign_customer_redemption_count=0,
    )


STACK = [
    _promotion("WELCOME15", PercentOff(1500, max_amount=5000)),
    _promotion("TENOFF", AmountOff(1000)),
    _promotion("EXTRA5", PercentOff(500)),
]
PROMOTIONS = {normalise(p.code): p for p in STACK}


def _cart(lines: int) -> Cart:
    return Cart("EUR", tuple(CartLine(f"sku-{i}", 1 + i % 3, 199 + 37 * i) for i in range(lines)))


def _rate(run: Callable[[], object], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            run()
        count += 100
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    scenarios = {
        "5 lines, 1 code": (_cart(5), ["WELCOME15"]),
        "5 lines, 3 stacked codes": (_cart(5), [p.code for p in STACK]),
        "200 lines, 3 stacked codes": (_cart(200), [p.code for p in STACK]),
    }
    print(f"engine.evaluate on {platform.python_implementation()} {platform.python_version()}")  # noqa: T201
    for name, (cart, codes) in scenarios.items():
        rate = _rate(partial(evaluate, cart, codes, PROMOTIONS, CTX), args.seconds)
        print(f"  {name:28} {rate:>10,.0f} evaluations/s  ({1e6 / rate:,.1f} us each)")  # noqa: T201


if __name__ == "__main__":
    main()
