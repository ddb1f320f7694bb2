"""The engine's shapes beyond the basics, table by table, in exact minor units."""

from dataclasses import replace

import pytest

from app.domain.benefits import (
    AmountOff,
    AmountOffEach,
    Bundle,
    BuyXGetY,
    CalculationBase,
    Cashback,
    Effect,
    FixedPrice,
    PercentOff,
    PercentOffEach,
    Pick,
    ShippingOff,
    ShippingPrice,
    Tier,
    Tiered,
    UnitCap,
)
from app.domain.cart import Cart, CartLine
from app.domain.conditions import CartContains, Conditions, ShippingMethodIs, Target
from app.domain.engine import Evaluation
from app.domain.money import Rounding
from app.domain.reasons import Reason
from app.domain.rules import ExclusiveConflict, Promotion, Stacking
from tests.unit.domain.builders import cart, line, promo, run


def eur(amount: int) -> dict[str, int]:
    return {"EUR": amount}


def shaped(
    p: Promotion,
    *,
    rounding: Rounding = Rounding.HALF_UP,
    base: CalculationBase = CalculationBase.STANDARD,
    stacking: Stacking | None = None,
) -> Promotion:
    return replace(
        p,
        rules=replace(p.rules, rounding=rounding, base=base),
        stacking=stacking or p.stacking,
    )


def one(result: Evaluation) -> tuple[tuple[int, ...], int, Reason | None]:
    """(line discounts, shipping discount, the first code's refusal reason)."""
    verdict = result.verdicts[0]
    return result.line_discount_amounts, result.shipping_discount_amount, verdict.reason


# --- conditions on the cart, independent of the target ------------------------------------

SHOES = line("shoe", 2, 1000, "shoes")
SHIRT = line("shirt", 1, 5000, "shirts")


@pytest.mark.parametrize(
    ("condition", "lines", "expected", "shortfall"),
    [
        # The cart contains product X: 10 % off the shirt.
        (CartContains(Target(skus=frozenset({"shoe"}))), (SHOES, SHIRT), (0, 500), None),
        (CartContains(Target(skus=frozenset({"sock"}))), (SHOES, SHIRT), None, (None, 1)),
        # At least 3 shoes: the cart has 2.
        (
            CartContains(Target(categories=frozenset({"shoes"})), min_quantity=3),
            (SHOES, SHIRT),
            None,
            (None, 1),
        ),
        # Shoes worth 30.00: the cart has 20.00 of them, then 35.00.
        (
            CartContains(Target(categories=frozenset({"shoes"})), min_subtotal_amounts=eur(3000)),
            (SHOES, SHIRT),
            None,
            (1000, None),
        ),
        (
            CartContains(Target(categories=frozenset({"shoes"})), min_subtotal_amounts=eur(3000)),
            (SHOES, SHIRT, line("boot", 1, 1500, "shoes")),
            (0, 500, 0),
            None,
        ),
    ],
)
def test_conditions_on_the_cart_do_not_depend_on_the_target(
    condition: CartContains,
    lines: tuple[CartLine, ...],
    expected: tuple[int, ...] | None,
    shortfall: tuple[int | None, int | None] | None,
) -> None:
    p = promo(
        PercentOff(1000),
        target=Target(categories=frozenset({"shirts"})),
        conditions=Conditions(cart=(condition,)),
    )
    result = run(cart(*lines), p)
    verdict = result.verdicts[0]
    if expected is None:
        assert verdict.reason is Reason.REQUIRED_ITEMS_MISSING
        assert verdict.refusal is not None
        assert verdict.refusal.shortfall is not None
        assert (verdict.refusal.shortfall.amount, verdict.refusal.shortfall.quantity) == shortfall
    else:
        assert verdict.reason is None
        assert result.line_discount_amounts == expected


# --- shipping methods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "conditions", "method", "shipping", "expected"),
    [
        # Shipping costs 2.00 with standard shipping.
        (ShippingPrice(eur(200), frozenset({"standard"})), (), "standard", 590, (390, None)),
        (
            ShippingPrice(eur(200), frozenset({"standard"})),
            (),
            "express",
            990,
            (0, Reason.SHIPPING_METHOD_NOT_ELIGIBLE),
        ),
        # Already cheaper than the price: nothing to discount.
        (ShippingPrice(eur(200)), (), "pickup", 0, (0, Reason.NOTHING_TO_DISCOUNT)),
        # Half off express only; the cart chose none.
        (ShippingOff(5000, methods=frozenset({"express"})), (), "express", 990, (495, None)),
        (
            ShippingOff(5000, methods=frozenset({"express"})),
            (),
            None,
            990,
            (0, Reason.SHIPPING_METHOD_NOT_ELIGIBLE),
        ),
        # 5 % off the items when the chosen method is pickup.
        (PercentOff(500), (ShippingMethodIs(frozenset({"pickup"})),), "pickup", 0, (0, None)),
        (
            PercentOff(500),
            (ShippingMethodIs(frozenset({"pickup"})),),
            "standard",
            590,
            (0, Reason.SHIPPING_METHOD_NOT_ELIGIBLE),
        ),
    ],
)
def test_shipping_methods(
    effect: Effect,
    conditions: tuple[ShippingMethodIs, ...],
    method: str | None,
    shipping: int,
    expected: tuple[int, Reason | None],
) -> None:
    c = Cart("EUR", (line("a", 1, 4000),), shipping, method)
    result = run(c, promo(effect, conditions=Conditions(cart=conditions)))
    assert (result.shipping_discount_amount, result.verdicts[0].reason) == expected
    if expected[1] is None and isinstance(effect, PercentOff):
        assert result.discount_amount == 200


# --- bundles and groups ------------------------------------------------------------------

A3 = line("a", 3, 400)
B2 = line("b", 2, 500)


@pytest.mark.parametrize(
    ("effect", "lines", "expected", "reason"),
    [
        # 3 for 10.00 from the cheapest units: 4.00 x 3 -> 10.00 (2.00 off, 67 + 67 + 66).
        (Bundle(3, price_amounts=eur(1000)), (A3, B2), (200, 0), None),
        # From the dearest: 5.00 + 5.00 + 4.00 -> 10.00 (4.00 off: 143 + 143 + 114).
        (Bundle(3, price_amounts=eur(1000), pick=Pick.MOST_EXPENSIVE), (A3, B2), (114, 286), None),
        # Two groups fit (6 units); max_applications 1 keeps one.
        (Bundle(3, price_amounts=eur(900)), (line("a", 6, 400),), (600,), None),
        (Bundle(3, price_amounts=eur(900), max_applications=1), (line("a", 6, 400),), (300,), None),
        # 5.00 off every 2: four units make two groups.
        (Bundle(2, amounts_off=eur(500)), (line("a", 5, 1000),), (1000,), None),
        # The group already costs less than the price.
        (Bundle(3, price_amounts=eur(2000)), (A3,), (0,), Reason.NOTHING_TO_DISCOUNT),
        # Not enough units for one group.
        (
            Bundle(3, price_amounts=eur(500)),
            (line("a", 2, 400),),
            (0,),
            Reason.MIN_QUANTITY_NOT_MET,
        ),
    ],
)
def test_bundles(
    effect: Bundle, lines: tuple[CartLine, ...], expected: tuple[int, ...], reason: Reason | None
) -> None:
    result = run(cart(*lines), promo(effect))
    assert result.line_discount_amounts == expected
    assert result.verdicts[0].reason is reason


def test_a_bundle_that_lacks_units_says_how_many() -> None:
    result = run(cart(line("a", 1, 400)), promo(Bundle(3, price_amounts=eur(500))))
    refusal = result.verdicts[0].refusal
    assert refusal is not None
    assert refusal.shortfall is not None
    assert refusal.shortfall.quantity == 2


# --- caps on the units a promotion touches ----------------------------------------------

CHEAP = line("b", 1, 300)
MID = line("a", 3, 400)
DEAR = line("c", 1, 2500)


@pytest.mark.parametrize(
    ("effect", "lines", "expected"),
    [
        # 1.00 off at most 2 units, the cheapest: b's one unit and one of a's.
        (AmountOffEach(eur(100), UnitCap(max_units=2)), (MID, CHEAP), (100, 100)),
        # The dearest 2: two of a's.
        (
            AmountOffEach(eur(100), UnitCap(max_units=2, pick=Pick.MOST_EXPENSIVE)),
            (MID, CHEAP),
            (200, 0),
        ),
        # At most one unit per line.
        (AmountOffEach(eur(100), UnitCap(max_units_per_line=1)), (MID, CHEAP), (100, 100)),
        # 20 % off once per order, on the dearest unit, then on the cheapest.
        (
            PercentOffEach(2000, UnitCap(max_units=1, pick=Pick.MOST_EXPENSIVE)),
            (MID, CHEAP, DEAR),
            (0, 0, 500),
        ),
        (PercentOffEach(2000, UnitCap(max_units=1)), (MID, CHEAP, DEAR), (0, 60, 0)),
        # Every unit, rounded per unit: 12.5 % of 4.00 = 0.50, of 3.00 = 0.375 -> 0.38.
        (PercentOffEach(1250), (MID, CHEAP), (150, 38)),
        # 3.50 for one unit, chosen among those dearer than 3.50 (a at 4.00, not b at 3.00).
        (FixedPrice(eur(350), UnitCap(max_units=1)), (MID, CHEAP), (50, 0)),
        # 1.00 off each unit bought in pairs: 5 units make 2 pairs, the cheapest 4 units.
        (
            AmountOffEach(eur(100), UnitCap(group_size=2)),
            (MID, CHEAP, line("d", 1, 900)),
            (300, 100, 0),
        ),
        # In threes: 4 units make one group, of the dearest.
        (
            AmountOffEach(eur(100), UnitCap(group_size=3, pick=Pick.MOST_EXPENSIVE)),
            (MID, CHEAP),
            (300, 0),
        ),
        # In fives: 4 units make no group.
        (AmountOffEach(eur(100), UnitCap(group_size=5)), (MID, CHEAP), (0, 0)),
        # 5.00 each in threes: a's 3 units (4.00, not lowered) fill the first group, so only
        # 3 of b's 4 units are in a complete group.
        (FixedPrice(eur(500), UnitCap(group_size=3)), (MID, line("b", 4, 1000)), (0, 1500)),
    ],
)
def test_unit_caps(effect: Effect, lines: tuple[CartLine, ...], expected: tuple[int, ...]) -> None:
    assert run(cart(*lines), promo(effect)).line_discount_amounts == expected


@pytest.mark.parametrize(
    ("pick", "expected"), [(Pick.CHEAPEST, (0, 600)), (Pick.MOST_EXPENSIVE, (1000, 0))]
)
def test_buy_x_get_y_says_which_units_are_free(pick: Pick, expected: tuple[int, int]) -> None:
    result = run(cart(line("a", 1, 1000), line("b", 1, 600)), promo(BuyXGetY(1, 1, pick=pick)))
    assert result.line_discount_amounts == expected


# --- tiers -----------------------------------------------------------------------------------

BY_SUBTOTAL = Tiered(
    (
        Tier(min_amounts=eur(5000), basis_points=1000),
        Tier(min_amounts=eur(10000), basis_points=2000),
    )
)
BY_QUANTITY = Tiered(
    (Tier(min_quantity=2, amounts=eur(500)), Tier(min_quantity=4, amounts=eur(1500)))
)


@pytest.mark.parametrize(
    ("effect", "lines", "discount", "reason", "shortfall"),
    [
        (BY_SUBTOTAL, (line("a", 1, 4000),), 0, Reason.MIN_SUBTOTAL_NOT_MET, (1000, None)),
        (BY_SUBTOTAL, (line("a", 1, 6000),), 600, None, None),
        (BY_SUBTOTAL, (line("a", 1, 10000),), 2000, None, None),
        (BY_SUBTOTAL, (line("a", 2, 6000),), 2400, None, None),
        (BY_QUANTITY, (line("a", 1, 4000),), 0, Reason.MIN_QUANTITY_NOT_MET, (None, 1)),
        (BY_QUANTITY, (line("a", 3, 1000),), 500, None, None),
        (BY_QUANTITY, (line("a", 5, 1000),), 1500, None, None),
        # Never more than the items cost.
        (BY_QUANTITY, (line("a", 4, 100),), 400, None, None),
    ],
)
def test_tiers(
    effect: Tiered,
    lines: tuple[CartLine, ...],
    discount: int,
    reason: Reason | None,
    shortfall: tuple[int | None, int | None] | None,
) -> None:
    result = run(cart(*lines), promo(effect))
    verdict = result.verdicts[0]
    assert (result.discount_amount, verdict.reason) == (discount, reason)
    if shortfall is not None:
        assert verdict.refusal is not None
        assert verdict.refusal.shortfall is not None
        assert (verdict.refusal.shortfall.amount, verdict.refusal.shortfall.quantity) == shortfall


# --- calculation base ------------------------------------------------------------------------

FIRST = promo(AmountOff(eur(2000)), code=None, priority=10)


@pytest.mark.parametrize(
    ("base", "shipping_off", "reason"),
    [
        (CalculationBase.STANDARD, 500, None),
        (CalculationBase.BEFORE_DISCOUNTS, 500, None),
        # 60.00 - 20.00 = 40.00 after discounts: 10.00 short of 50.00.
        (CalculationBase.AFTER_DISCOUNTS, 0, Reason.MIN_SUBTOTAL_NOT_MET),
    ],
)
def test_free_shipping_over_a_threshold_before_or_after_discounts(
    base: CalculationBase, shipping_off: int, reason: Reason | None
) -> None:
    free_shipping = shaped(
        promo(ShippingOff(), conditions=Conditions(min_subtotal_amounts=eur(5000))), base=base
    )
    result = run(cart(line("a", 1, 6000), shipping=500), FIRST, free_shipping)
    assert result.shipping_discount_amount == shipping_off
    assert result.verdicts[0].reason is reason


@pytest.mark.parametrize(
    ("base", "discount"),
    [
        # 10 % of what is left (40.00), or of the price before any promotion (60.00).
        (CalculationBase.STANDARD, 400),
        (CalculationBase.AFTER_DISCOUNTS, 400),
        (CalculationBase.BEFORE_DISCOUNTS, 600),
    ],
)
def test_percentages_before_or_after_discounts(base: CalculationBase, discount: int) -> None:
    ten = shaped(promo(PercentOff(1000)), base=base)
    result = run(cart(line("a", 1, 6000)), FIRST, ten)
    assert result.discount_amount == 2000 + discount


# --- stacking strategies ----------------------------------------------------------------------


@pytest.mark.parametrize(("price", "winner"), [(10000, "FLAT"), (20000, "PCT")])
def test_best_of_a_group_applies_only_the_best(price: int, winner: str) -> None:
    group = Stacking(best_of="welcome")
    pct = shaped(promo(PercentOff(1000), code="PCT"), stacking=group)
    flat = shaped(promo(AmountOff(eur(1500)), code="FLAT"), stacking=group)
    other = promo(AmountOff(eur(100)), code="OTHER", priority=-1)
    result = run(cart(line("a", 1, price)), pct, flat, other)
    reasons = {v.code: v.reason for v in result.verdicts}
    loser = "FLAT" if winner == "PCT" else "PCT"
    assert reasons == {winner: None, loser: Reason.BETTER_OFFER_APPLIED, "OTHER": None}
    best = 1500 if winner == "FLAT" else price // 10
    assert result.discount_amount == best + 100


def test_a_group_member_that_does_not_apply_keeps_its_own_reason() -> None:
    group = Stacking(best_of="welcome")
    big = shaped(
        promo(AmountOff(eur(5000)), code="BIG", conditions=Conditions(min_quantity=5)),
        stacking=group,
    )
    small = shaped(promo(AmountOff(eur(500)), code="SMALL"), stacking=group)
    result = run(cart(line("a", 1, 10000)), big, small)
    assert [v.reason for v in result.verdicts] == [Reason.MIN_QUANTITY_NOT_MET, None]
    assert result.discount_amount == 500


@pytest.mark.parametrize(
    ("conflict", "other_applies", "reasons", "discount"),
    [
        # By priority: the exclusive one comes first and shuts the other out.
        (ExclusiveConflict.PRIORITY, True, [None, Reason.NOT_COMBINABLE], 2000),
        # Refuse: it steps aside for the other, whatever the priorities...
        (ExclusiveConflict.REFUSE, True, [Reason.NOT_COMBINABLE, None], 500),
        # ...and applies when nothing else does (the other keeps its own reason).
        (ExclusiveConflict.REFUSE, False, [None, Reason.MIN_QUANTITY_NOT_MET], 2000),
    ],
)
def test_what_an_exclusive_promotion_does_when_another_would_apply(
    conflict: ExclusiveConflict,
    other_applies: bool,
    reasons: list[Reason | None],
    discount: int,
) -> None:
    exclusive = shaped(
        promo(PercentOff(2000), code="EXCL"),
        stacking=Stacking(priority=10, is_exclusive=True, exclusive_conflict=conflict),
    )
    other = promo(
        AmountOff(eur(500)),
        code="OTHER",
        conditions=Conditions(min_quantity=1 if other_applies else 9),
    )
    result = run(cart(line("a", 1, 10000)), exclusive, other)
    assert [v.reason for v in result.verdicts] == reasons
    assert result.discount_amount == discount


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "rounding", "discount"),
    [
        # 1 % of 10.50 = 0.105; of 11.50 = 0.115; of 10.51 = 0.1051.
        (1050, Rounding.HALF_UP, 11),
        (1050, Rounding.DOWN, 10),
        (1050, Rounding.HALF_EVEN, 10),
        (1150, Rounding.HALF_EVEN, 12),
        (1150, Rounding.DOWN, 11),
        (1051, Rounding.HALF_EVEN, 11),
        (1049, Rounding.HALF_UP, 10),
    ],
)
def test_rounding_mode_per_campaign(price: int, rounding: Rounding, discount: int) -> None:
    result = run(cart(line("a", 1, price)), shaped(promo(PercentOff(100)), rounding=rounding))
    assert result.discount_amount == discount


def test_rounding_then_the_same_exact_split() -> None:
    """Rounded once for the order, then shared by largest remainder: 33.3 % of 3 x 1.00 (99.9
    rounds down to 99 or half-up to 100) splits 33 + 33 + 33, or 34 + 33 + 33."""
    lines = (line("a", 1, 100), line("b", 1, 100), line("c", 1, 100))
    down = run(cart(*lines), shaped(promo(PercentOff(3330)), rounding=Rounding.DOWN))
    up = run(cart(*lines), shaped(promo(PercentOff(3330)), rounding=Rounding.HALF_UP))
    assert down.line_discount_amounts == (33, 33, 33)
    assert up.line_discount_amounts == (34, 33, 33)


# --- edges found in review ----------------------------------------------------------------------


def test_an_exclusive_that_steps_aside_keeps_its_own_reason_when_it_would_not_apply() -> None:
    exclusive = shaped(
        promo(
            PercentOff(2000), code="EXCL", conditions=Conditions(min_subtotal_amounts=eur(10_000))
        ),
        stacking=Stacking(
            priority=10, is_exclusive=True, exclusive_conflict=ExclusiveConflict.REFUSE
        ),
    )
    other = promo(AmountOff(eur(100)), code="OTHER")
    result = run(cart(line("a", 1, 1000)), exclusive, other)
    assert [v.reason for v in result.verdicts] == [Reason.MIN_SUBTOTAL_NOT_MET, None]
    refusal = result.verdicts[0].refusal
    assert refusal is not None
    assert refusal.shortfall is not None
    assert refusal.shortfall.amount == 9000
    assert result.discount_amount == 100


@pytest.mark.parametrize(
    ("base", "discount"),
    [
        # The automatic 20 % makes each unit 8.00; half of the free unit is 4.00 of that, or
        # 5.00 of its price before any promotion.
        (CalculationBase.STANDARD, 400 + 400),
        (CalculationBase.BEFORE_DISCOUNTS, 400 + 500),
    ],
)
def test_buy_x_get_y_percentages_follow_the_calculation_base(
    base: CalculationBase, discount: int
) -> None:
    first = promo(PercentOffEach(2000), code=None, priority=1)
    half = shaped(promo(BuyXGetY(1, 1, basis_points=5000)), base=base)
    assert run(cart(line("a", 2, 1000)), first, half).discount_amount == discount


@pytest.mark.parametrize(
    ("base", "shipping_off"),
    [(CalculationBase.STANDARD, 200 + 400), (CalculationBase.BEFORE_DISCOUNTS, 200 + 500)],
)
def test_a_shipping_percentage_follows_the_calculation_base(
    base: CalculationBase, shipping_off: int
) -> None:
    first = promo(ShippingOff(amounts=eur(200)), code=None, priority=10)
    half = shaped(promo(ShippingOff(5000)), base=base)
    result = run(cart(line("a", 1, 1000), shipping=1000), first, half)
    assert result.shipping_discount_amount == shipping_off


@pytest.mark.parametrize(
    "effect",
    [
        Tiered((Tier(min_amounts=eur(5000), basis_points=1000),)),
        Bundle(2, price_amounts=eur(1000)),
        BuyXGetY(1, 1),
    ],
)
def test_lines_another_promotion_keeps_leave_nothing_to_discount(effect: Effect) -> None:
    """A line-exclusive promotion applied first keeps its lines: a promotion that would
    discount them has nothing to discount, not a shortfall to report."""
    keeper = promo(PercentOff(1000), code=None, priority=5, line_exclusive=True)
    result = run(cart(line("a", 2, 5000)), keeper, promo(effect))
    assert result.verdicts[0].reason is Reason.NOTHING_TO_DISCOUNT


def test_best_of_compares_the_discount_before_the_cashback() -> None:
    group = Stacking(best_of="g")
    flat = shaped(promo(AmountOff(eur(100)), code="FLAT"), stacking=group)
    back = shaped(promo(Cashback(1500), code="BACK"), stacking=group)
    result = run(cart(line("a", 1, 1000)), flat, back)
    assert [v.reason for v in result.verdicts] == [None, Reason.BETTER_OFFER_APPLIED]


def test_a_shipping_effect_for_another_method_leaves_the_rest_of_the_promotion() -> None:
    p = promo(PercentOff(1000), ShippingOff(methods=frozenset({"express"})))
    result = run(Cart("EUR", (line("a", 1, 4000),), 590, "standard"), p)
    assert (result.discount_amount, result.shipping_discount_amount) == (400, 0)
    assert result.verdicts[0].reason is None


def test_a_genuine_tier_shortfall_is_reported_even_when_other_promotions_keep_the_lines() -> None:
    keeper = promo(PercentOff(1000), code=None, priority=5, line_exclusive=True)
    tiers = promo(Tiered((Tier(min_amounts=eur(50_000), basis_points=1000),)))
    result = run(cart(line("a", 2, 5000)), keeper, tiers)
    assert result.verdicts[0].reason is Reason.MIN_SUBTOTAL_NOT_MET
