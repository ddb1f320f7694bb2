"""A fingerprint of what the engine decides, to show that a change (a speed-up, a refactoring)
kept every result: run it in both checkouts (the base one in a `git worktree`), from the
checkout's own directory, and compare the printed digests.

    .venv/bin/python -m bench.engine_digest [--seed 1] [--carts 4000] [--dump FILE]

Draws carts, codes and promotions from a seeded generator (every effect kind, targets,
conditions, limits, stacking, duplicate and unknown codes, three currencies) and hashes each
evaluation's outcome: verdicts with reasons and messages, applications, skips, line and unit
discounts, shipping and totals. The outcome is written in a fixed order (no set or repr
ordering), so the digest does not depend on PYTHONHASHSEED. --dump writes one line per cart, to
find the first cart that differs.
"""

import argparse
import hashlib
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.domain.benefits import (
    AmountOff,
    AmountOffEach,
    BuyXGetY,
    Cashback,
    Effect,
    FixedPrice,
    FreeGift,
    PercentOff,
    ShippingOff,
)
from app.domain.cart import Cart, CartLine
from app.domain.codes import normalise
from app.domain.conditions import Conditions, Schedule, Target
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation, Refusal, evaluate
from app.domain.rules import Promotion, Rules, Stacking, Usage

NOW = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # a Friday, 18:30 in Paris
SKUS = ["a", "b", "c", "d", "e"]
CATEGORIES = ["x", "y", "z", "socks", "low_margin"]
CURRENCIES = ["EUR", "JPY", "KWD"]
PRICES = [1, 333, 999, 1000]


class _Draw:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def money(self) -> int:
        r = self.rng
        return r.choice([r.randint(1, 20_000), r.randint(1, 500), r.randint(1, 100_000)])

    def amounts(self, optional: bool = False) -> dict[str, int]:
        if optional and self.rng.random() < 0.5:
            return {}
        chosen = [c for c in CURRENCIES if self.rng.random() < 0.93] or ["EUR"]
        return {c: self.money() for c in chosen}

    def some(self, pool: list[str], most: int) -> frozenset[str]:
        return frozenset(self.rng.sample(pool, self.rng.randint(0, most)))

    def target(self) -> Target:
        r = self.rng
        if r.random() < 0.4:
            return Target()
        return Target(
            self.some(SKUS, 2),
            self.some(CATEGORIES, 1),
            self.some(SKUS, 1) if r.random() < 0.3 else frozenset(),
            self.some(CATEGORIES, 1) if r.random() < 0.3 else frozenset(),
        )

    def effect(self) -> Effect:
        r = self.rng
        kind = r.randrange(8)
        bps = r.choice([r.randint(1, 10_000), 10_000, 5000, 1500, 1])
        if kind == 0:
            return PercentOff(bps, self.amounts(True), self.amounts(True))
        if kind == 1:
            return AmountOff(self.amounts())
        if kind == 2:
            return AmountOffEach(self.amounts())
        if kind == 3:
            return FixedPrice({c: r.randint(0, 20_000) for c in CURRENCIES})
        if kind == 4:
            get_target = self.target() if r.random() < 0.4 else None
            most = r.choice([None, 1, 2, 3])
            return BuyXGetY(r.randint(1, 3), r.randint(1, 2), bps, get_target, most)
        if kind == 5:
            return FreeGift(r.choice(SKUS), r.randint(1, 2), self.amounts(True))
        if kind == 6:
            fixed = self.amounts(True) if r.random() < 0.3 else {}
            return ShippingOff(bps, fixed, self.amounts(True))
        return Cashback(bps, self.amounts(True))

    def conditions(self) -> Conditions:
        r = self.rng
        if r.random() < 0.5:
            return Conditions()
        schedule = None
        if r.random() < 0.1:
            days = frozenset(r.sample(range(1, 8), r.randint(0, 3)))
            schedule = Schedule("Europe/Paris", days, r.randint(0, 1439), r.randint(0, 1440))
        return Conditions(
            min_subtotal_amounts=self.amounts(True) if r.random() < 0.5 else {},
            min_quantity=r.choice([None, None, 1, 2, 5, 20]),
            segments=self.some(["vip", "new"], 1) if r.random() < 0.1 else frozenset(),
            first_order_only=r.random() < 0.05,
            markets=frozenset({"FR"}) if r.random() < 0.05 else frozenset(),
            locales=frozenset({"fr"}) if r.random() < 0.05 else frozenset(),
            schedule=schedule,
        )

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128))

    def promotion(self, i: int, campaigns: list[UUID]) -> Promotion:
        r = self.rng
        code = r.choice([f"P{i}", f"Code-{i}", None, None])
        limited = r.random() < 0.2
        return Promotion(
            # Some promotions share a campaign, so the code breaks the stacking tie.
            campaign_id=r.choice(campaigns) if r.random() < 0.3 else self.uuid(),
            name=f"promotion {i}",
            rules=Rules(
                tuple(self.effect() for _ in range(r.randint(1, 3))),
                self.target(),
                self.conditions(),
            ),
            code_id=self.uuid() if code else None,
            code=code,
            stacking=Stacking(r.randint(-2, 2), r.random() < 0.15, r.random() < 0.25),
            usage=Usage(
                max_redemptions=r.choice([None, 5]),
                redemption_count=r.randint(0, 6),
                per_customer_limit=r.choice([None, 1]) if limited else None,
                customer_redemption_count=r.randint(0, 1),
            ),
            is_active=r.random() > 0.03,
            starts_at=NOW + timedelta(hours=1) if r.random() < 0.03 else None,
            ends_at=NOW if r.random() < 0.03 else None,
            bound_customer_id=r.choice([None, None, None, "cus_1", "cus_2"]) if limited else None,
        )

    def cart(self) -> Cart:
        r = self.rng
        lines = tuple(
            CartLine(
                r.choice(SKUS),
                r.choice([1, 1, 2, 3, r.randint(1, 40)]),
                # Few distinct prices half the time: equal lines and equal remainders are where
                # tie-breaks (canonical order, largest remainder) decide who gets a minor unit.
                r.choice([0, r.randint(0, 50_000), r.randint(1, 999), *PRICES]),
                self.some(CATEGORIES, 2),
            )
            for _ in range(r.choice([1, 2, 3, 5, 5, 8, 12, 30]))
        )
        currency = r.choice(["EUR", "EUR", "EUR", "JPY", "KWD", "USD"])
        return Cart(currency, lines, r.choice([0, 495, r.randint(0, 3000)]))

    def context(self) -> EvaluationContext:
        r = self.rng
        return EvaluationContext(
            now=NOW,
            customer_id=r.choice(["cus_1", None, "cus_1"]),
            segments=self.some(["vip", "new"], 1),
            is_first_order=r.choice([None, True, False]),
            market=r.choice([None, "FR", "GB"]),
            locale=r.choice([None, "fr-FR", "en"]),
        )


def _refusal(refusal: Refusal | None) -> object:
    if refusal is None:
        return None
    name = refusal.promotion.name if refusal.promotion else None
    shortfall = refusal.shortfall
    amounts = (shortfall.amount, shortfall.quantity) if shortfall else None
    return (name, refusal.code, refusal.reason.value, refusal.message, amounts)


def outcome(result: Evaluation) -> object:
    """Everything evaluate decided, in a fixed order, with promotions by name."""
    return (
        [
            (v.code, v.promotion.name if v.promotion else None, _refusal(v.refusal))
            for v in result.verdicts
        ],
        [
            (
                a.promotion.name,
                a.code,
                a.line_discount_amounts,
                a.shipping_discount_amount,
                a.cashback_amount,
                [(g.sku, g.quantity, g.unit_price_amount) for g in a.gifts],
            )
            for a in result.applied
        ],
        [_refusal(s) for s in result.skipped],
        result.line_discount_amounts,
        result.unit_discounts,
        result.shipping_discount_amount,
        result.total_amount,
        result.cashback_amount,
        result.is_valid,
    )


def lines(seed: int, carts: int) -> list[str]:
    draw = _Draw(random.Random(seed))
    campaigns = [draw.uuid() for _ in range(3)]
    found = []
    for number in range(carts):
        cart = draw.cart()
        promotions = [draw.promotion(i, campaigns) for i in range(draw.rng.randint(1, 6))]
        by_code = {normalise(p.code): p for p in promotions if p.code}
        requested = [p.code for p in promotions if p.code]
        draw.rng.shuffle(requested)
        if draw.rng.random() < 0.2:
            requested.append("nope")
        if draw.rng.random() < 0.1:
            requested.append("bad code")
        if requested and draw.rng.random() < 0.2:
            requested.append(" " + requested[0].lower())
        automatic = [p for p in promotions if p.code is None]
        ctx = draw.context()
        max_discounts = draw.rng.choice([5, 5, 1, 2, 3])
        try:
            result: object = outcome(
                evaluate(cart, requested, by_code, ctx, automatic, max_discounts)
            )
        except Exception as error:  # an exception is an outcome too
            result = f"{type(error).__name__}: {error}"
        found.append(f"{number}: {result!r}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--carts", type=int, default=4000)
    parser.add_argument("--dump", help="write one line per cart to this file")
    args = parser.parse_args()
    found = lines(args.seed, args.carts)
    if args.dump:
        with open(args.dump, "w") as dump:
            dump.writelines(line + "\n" for line in found)
    digest = hashlib.sha256("\n".join(found).encode()).hexdigest()
    print(f"engine digest, seed {args.seed}, {args.carts} carts: {digest}")  # noqa: T201


if __name__ == "__main__":
    main()
