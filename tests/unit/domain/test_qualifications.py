"""Each offered promotion weighed alone against the cart (domain/qualifications.qualify)."""

from dataclasses import replace

from app.domain.benefits import AmountOff, Cashback, PercentOff
from app.domain.conditions import Conditions
from app.domain.context import EvaluationContext
from app.domain.qualifications import OfferSource, qualify
from app.domain.reasons import Reason
from app.domain.rules import ExclusiveConflict, Stacking, Usage
from tests.unit.domain.builders import NOW, cart, line, promo

CTX = EvaluationContext(now=NOW, customer_id="ann")


def test_each_alone_best_first_then_cashback_then_name() -> None:
    c = cart(line("A", 2, 1000))
    result = qualify(
        c,
        [
            promo(AmountOff({"EUR": 300}), code="THREE"),
            promo(PercentOff(2500), code=None),  # 5.00, automatic
            promo(AmountOff({"EUR": 300}), Cashback(500), code="THREEBACK"),
            promo(AmountOff({"EUR": 500}), code="MINE", bound_customer_id="ann"),
        ],
        CTX,
        5,
    )
    assert [(o.promotion.code, o.source, o.saving) for o in result.offers] == [
        ("MINE", OfferSource.BOUND, 500),  # a tie goes by name: "MINE" < "automatic"
        (None, OfferSource.AUTOMATIC, 500),
        ("THREEBACK", OfferSource.ADVERTISED, 300),
        ("THREE", OfferSource.ADVERTISED, 300),
    ]
    # Alone: each total is the cart less its own discount only.
    assert [o.total_amount for o in result.offers] == [1500, 1500, 1700, 1700]


def test_near_misses_closest_first_and_other_refusals_left_out() -> None:
    c = cart(line("A", 1, 1000))
    result = qualify(
        c,
        [
            promo(
                AmountOff({"EUR": 100}),
                code="FAR",
                conditions=Conditions(min_subtotal_amounts={"EUR": 5000}),
            ),
            promo(
                AmountOff({"EUR": 100}),
                code="NEAR",
                conditions=Conditions(min_subtotal_amounts={"EUR": 1500}),
            ),
            promo(AmountOff({"EUR": 100}), code="TWO", conditions=Conditions(min_quantity=2)),
            promo(
                AmountOff({"EUR": 100}),
                code="USED",
                usage=Usage(max_redemptions=1, redemption_count=1),
            ),
        ],
        CTX,
        5,
    )
    assert result.offers == ()
    assert [(n.promotion.code, n.reason) for n in result.near_misses] == [
        ("TWO", Reason.MIN_QUANTITY_NOT_MET),
        ("NEAR", Reason.MIN_SUBTOTAL_NOT_MET),
        ("FAR", Reason.MIN_SUBTOTAL_NOT_MET),
    ]
    assert result.near_misses[1].shortfall.amount == 500


def test_an_exclusive_that_steps_aside_is_no_offer_next_to_an_automatic_promotion() -> None:
    """Automatic promotions join every checkout: next to one that applies, an exclusive code
    that steps aside (exclusive_conflict refuse) would be refused, so it is not offered."""
    aside = replace(
        promo(PercentOff(3000), code="ALONE"),
        stacking=Stacking(is_exclusive=True, exclusive_conflict=ExclusiveConflict.REFUSE),
    )
    winner = replace(aside, code="WINNER", stacking=Stacking(is_exclusive=True))
    automatic = promo(PercentOff(100), code=None)
    c = cart(line("A", 1, 10_000))
    offered = qualify(c, [aside, winner, automatic], CTX, 5).offers
    assert [o.promotion.code for o in offered] == ["WINNER", None]
    alone = qualify(c, [aside], CTX, 5).offers
    assert [o.promotion.code for o in alone] == ["ALONE"]


def test_exclusives_that_step_aside_are_offered_as_validate_would_stack_them() -> None:
    """Two automatic ones: checkout applies one of them, so one is offered. A code that steps
    aside next to an automatic one that steps aside too: the code comes first at equal
    priority and applies, so both are offered."""
    refuse = Stacking(is_exclusive=True, exclusive_conflict=ExclusiveConflict.REFUSE)
    a = replace(promo(PercentOff(1000), code=None), stacking=refuse)
    b = replace(promo(PercentOff(2000), code=None), stacking=refuse)
    c = cart(line("A", 1, 10_000))
    assert len(qualify(c, [a, b], CTX, 5).offers) == 1
    code = replace(promo(PercentOff(3000), code="C30"), stacking=refuse)
    offered = qualify(c, [a, code], CTX, 5).offers
    assert [o.promotion.code for o in offered] == ["C30", None]
