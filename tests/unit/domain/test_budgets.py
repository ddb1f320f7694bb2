"""Campaign budgets in the engine (a spent budget refuses, a money budget refuses or reduces the
discount that would cross it) and the takes a redemption adds to them."""

from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from app.domain.benefits import AmountOff, PercentOff, ShippingOff
from app.domain.budgets import REDEMPTIONS, Applied, BudgetLeft, OverBudget, budget_takes
from app.domain.reasons import Reason
from tests.unit.domain.builders import cart, line, promo, run

REDUCE = OverBudget.REDUCE


def test_a_spent_budget_refuses_the_promotion() -> None:
    for left in (BudgetLeft(redemptions=0, amount=None), BudgetLeft(redemptions=5, amount=0)):
        result = run(cart(line("A", 1, 1000)), promo(PercentOff(1000), budget=left))
        assert result.verdicts[0].reason is Reason.BUDGET_EXHAUSTED


def test_a_discount_that_would_cross_the_budget_is_refused_and_leaves_the_cart_as_it_was() -> None:
    capped = promo(
        PercentOff(5000), code="HALF", priority=10, budget=BudgetLeft(redemptions=None, amount=300)
    )
    other = promo(AmountOff({"EUR": 100}), code="ONE")
    result = run(cart(line("A", 2, 1000)), capped, other)
    assert [v.reason for v in result.verdicts] == [Reason.BUDGET_EXCEEDED, None]
    assert result.discount_amount == 100
    assert result.verdicts[0].refusal is not None
    assert "does not cover" in result.verdicts[0].refusal.message


def test_reduce_takes_what_is_left_spread_over_the_lines() -> None:
    capped = promo(PercentOff(5000), budget=BudgetLeft(None, amount=301, over_budget=REDUCE))
    result = run(cart(line("A", 2, 1000), line("B", 1, 999)), capped)
    assert result.verdicts[0].is_valid
    assert result.discount_amount == 301
    assert sum(result.line_discount_amounts) == 301
    assert result.applied[0].discount_amount == 301


def test_reduce_shares_the_cut_with_shipping() -> None:
    capped = promo(
        PercentOff(10_000),
        ShippingOff(10_000),
        budget=BudgetLeft(None, amount=600, over_budget=REDUCE),
    )
    result = run(cart(line("A", 1, 1000), shipping=500), capped)
    assert result.discount_amount + result.shipping_discount_amount == 600
    assert result.shipping_discount_amount == 200  # 500 of 1,500 would-be discount


def test_two_codes_of_one_campaign_share_its_money_left() -> None:
    campaign = uuid4()
    left = BudgetLeft(redemptions=None, amount=500, over_budget=REDUCE)
    first = promo(AmountOff({"EUR": 400}), code="FIRST", campaign_id=campaign, budget=left)
    second = promo(AmountOff({"EUR": 400}), code="SECOND", campaign_id=campaign, budget=left)
    result = run(cart(line("A", 1, 5000)), first, second)
    assert [a.discount_amount for a in result.applied] == [400, 100]
    strict = BudgetLeft(redemptions=None, amount=500)
    refused = run(
        cart(line("A", 1, 5000)),
        promo(AmountOff({"EUR": 400}), code="FIRST", campaign_id=campaign, budget=strict),
        promo(AmountOff({"EUR": 400}), code="SECOND", campaign_id=campaign, budget=strict),
    )
    assert [v.reason for v in refused.verdicts] == [None, Reason.BUDGET_EXCEEDED]


@given(
    prices=st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
    quantities=st.lists(st.integers(1, 5), min_size=6, max_size=6),
    basis_points=st.integers(1, 10_000),
    shipping=st.integers(0, 2_000),
    left=st.integers(1, 50_000),
)
def test_reduced_discounts_never_pass_what_is_left_and_add_up(
    prices: list[int], quantities: list[int], basis_points: int, shipping: int, left: int
) -> None:
    lines = [line(f"S{i}", q, p) for i, (p, q) in enumerate(zip(prices, quantities, strict=False))]
    capped = promo(
        PercentOff(basis_points),
        ShippingOff(basis_points),
        budget=BudgetLeft(None, amount=left, over_budget=REDUCE),
    )
    result = run(cart(*lines, shipping=shipping), capped)
    taken = result.discount_amount + result.shipping_discount_amount
    assert taken <= left
    assert sum(result.line_discount_amounts) == result.discount_amount
    assert result.total_amount >= 0
    full = run(
        cart(*lines, shipping=shipping), promo(PercentOff(basis_points), ShippingOff(basis_points))
    )
    full_taken = full.discount_amount + full.shipping_discount_amount
    assert taken == min(left, full_taken)
    for units in result.unit_discounts:
        assert all(each >= 0 for each, _ in units)


def test_takes_count_one_redemption_per_campaign_and_sum_its_discounts() -> None:
    a, b, c = sorted([uuid4(), uuid4(), uuid4()])
    both = BudgetLeft(redemptions=10, amount=1000)
    takes = budget_takes(
        [
            Applied(a, both, 300),
            Applied(a, both, 200),
            Applied(b, BudgetLeft(redemptions=None, amount=50), 0),  # nothing off: no take
            Applied(c, None, 700),  # no budget
            Applied(b, BudgetLeft(redemptions=3, amount=None), 100),
        ],
        "EUR",
    )
    assert takes == sorted([(a, REDEMPTIONS, 1), (a, "EUR", 500), (b, REDEMPTIONS, 1)])
