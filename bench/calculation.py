"""Evaluations per second of the pure engine (no I/O), printed, never asserted.

    .venv/bin/python -m bench.calculation [--seconds 2]

Carts: 5 lines with 1 code; 5 and 200 lines with 3 stacked promotions (a percentage code with an
exclusion, a buy-2-get-1 code, and an automatic free-shipping-and-5.00-off promotion).
"""

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from uuid import uuid4

from app.domain.benefits import (
    AmountOff,
    Bundle,
    BuyXGetY,
    CalculationBase,
    PercentOff,
    PercentOffEach,
    ShippingOff,
    ShippingPrice,
    Tier,
    Tiered,
    UnitCap,
)
from app.domain.cart import Cart, CartLine
from app.domain.codes import normalise
from app.domain.conditions import CartContains, Conditions, Target
from app.domain.context import EvaluationContext
from app.domain.engine import evaluate
from app.domain.money import Rounding
from app.domain.rules import Promotion, Rules, Stacking, Usage

CTX = EvaluationContext(now=datetime(2026, 11, 23, 12, tzinfo=UTC), customer_id="cus_1")
USAGE = Usage(max_redemptions=500, redemption_count=10, per_customer_limit=1)

WELCOME = Promotion(
    campaign_id=uuid4(),
    name="Welcome 15 %",
    code_id=uuid4(),
    code="WELCOME15",
    rules=Rules(
        effects=(PercentOff(1500, max_amounts={"EUR": 5000}),),
        target=Target(exclude_categories=frozenset({"low_margin"})),
        conditions=Conditions(min_subtotal_amounts={"EUR": 1000}),
    ),
    usage=USAGE,
)
BOGO = Promotion(
    campaign_id=uuid4(),
    name="Socks: buy 2 get 1",
    code_id=uuid4(),
    code="SOCKS",
    rules=Rules(effects=(BuyXGetY(2, 1),), target=Target(categories=frozenset({"socks"}))),
    stacking=Stacking(priority=1),
    usage=USAGE,
)
SHIPPING = Promotion(
    campaign_id=uuid4(),
    name="Free shipping and 5.00 off over 50",
    rules=Rules(
        effects=(ShippingOff(), AmountOff({"EUR": 500})),
        conditions=Conditions(min_subtotal_amounts={"EUR": 5000}),
    ),
)
# The shapes of issue 16: a bundle in a best-of group with buy 2 get 1, tiers behind a
# condition on the cart, a shipping price for one method after discounts, per-unit caps.
BUNDLE = Promotion(
    campaign_id=uuid4(),
    name="Socks: 3 for 10.00",
    code_id=uuid4(),
    code="SOCKS3",
    rules=Rules(
        effects=(Bundle(3, price_amounts={"EUR": 1000}),),
        target=Target(categories=frozenset({"socks"})),
    ),
    stacking=Stacking(priority=1, best_of="socks"),
    usage=USAGE,
)
BOGO_IN_GROUP = replace(BOGO, stacking=Stacking(priority=1, best_of="socks"))
CHEAPEST = Promotion(
    campaign_id=uuid4(),
    name="20 % off the cheapest item",
    code_id=uuid4(),
    code="CHEAP20",
    rules=Rules(
        effects=(PercentOffEach(2000, UnitCap(max_units=1)),),
        rounding=Rounding.HALF_EVEN,
    ),
    usage=USAGE,
)
TIERS = Promotion(
    campaign_id=uuid4(),
    name="10 % over 50, 20 % over 100, with socks in the cart",
    rules=Rules(
        effects=(
            Tiered(
                (
                    Tier(min_amounts={"EUR": 5000}, basis_points=1000),
                    Tier(min_amounts={"EUR": 10000}, basis_points=2000),
                )
            ),
        ),
        conditions=Conditions(
            cart=(CartContains(Target(categories=frozenset({"socks"})), min_quantity=1),)
        ),
    ),
)
SHIPPING_PRICE = Promotion(
    campaign_id=uuid4(),
    name="Standard shipping 2.00 over 30 after discounts",
    rules=Rules(
        effects=(ShippingPrice({"EUR": 200}, frozenset({"standard"})),),
        conditions=Conditions(min_subtotal_amounts={"EUR": 3000}),
        base=CalculationBase.AFTER_DISCOUNTS,
    ),
    stacking=Stacking(priority=-1),
)
CODES = [WELCOME, BOGO]
PROMOTIONS = {normalise(p.code): p for p in CODES if p.code}
SHAPED_CODES = [BOGO_IN_GROUP, BUNDLE, CHEAPEST]
SHAPED = {normalise(p.code): p for p in SHAPED_CODES if p.code}


def _shaped_cart(lines: int) -> Cart:
    return replace(_cart(lines), shipping_method="standard")


def _cart(lines: int) -> Cart:
    categories: tuple[frozenset[str], ...] = (
        frozenset({"socks"}),
        frozenset({"low_margin"}),
        frozenset(),
    )
    return Cart(
        "EUR",
        tuple(
            CartLine(f"sku-{i}", 1 + i % 3, 199 + 37 * i, categories[i % 3]) for i in range(lines)
        ),
        shipping_amount=495,
    )


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
    codes = [p.code for p in CODES if p.code]
    shaped = [p.code for p in SHAPED_CODES if p.code]
    scenarios: dict[str, tuple[Cart, list[str], dict[str, Promotion], list[Promotion]]] = {
        "5 lines, 1 code": (_cart(5), codes[:1], PROMOTIONS, []),
        "5 lines, 3 stacked promotions": (_cart(5), codes, PROMOTIONS, [SHIPPING]),
        "200 lines, 3 stacked promotions": (_cart(200), codes, PROMOTIONS, [SHIPPING]),
        "5 lines, new kinds (5)": (_shaped_cart(5), shaped, SHAPED, [TIERS, SHIPPING_PRICE]),
        "200 lines, new kinds (5)": (_shaped_cart(200), shaped, SHAPED, [TIERS, SHIPPING_PRICE]),
    }
    print(f"engine.evaluate on {platform.python_implementation()} {platform.python_version()}")  # noqa: T201
    for name, (cart, requested, known, automatic) in scenarios.items():
        run = partial(evaluate, cart, requested, known, CTX, automatic)
        rate = _rate(run, args.seconds)
        print(f"  {name:28} {rate:>10,.0f} evaluations/s  ({1e6 / rate:,.1f} us each)")  # noqa: T201


if __name__ == "__main__":
    main()
