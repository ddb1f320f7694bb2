import random
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.benefits import (
    AmountOff,
    BuyXGetY,
    CalculationBase,
    PercentOff,
    ShippingOff,
)
from app.domain.cart import Cart, CartLine
from app.domain.codes import is_well_formed, normalise
from app.domain.conditions import Conditions, Target
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation
from app.domain.money import Rounding
from app.domain.reasons import Reason
from app.domain.rules import ExclusiveConflict, Promotion, Stacking, Usage
from tests.unit.domain.builders import NOW, cart, line, promo, run
from tests.unit.domain.kind_strategies import (
    CATEGORIES,
    METHODS,
    SKUS,
    cart_conditions,
    effects,
    targets,
)

CTX = EvaluationContext(now=NOW, customer_id="cus_1")


class TestCodes:
    def test_matching_ignores_case_and_surrounding_space(self) -> None:
        assert normalise("  Summer10 ") == normalise("SUMMER10")
        full_width = "".join(chr(ord(c) + 0xFEE0) for c in "SUMMER10")
        assert normalise(full_width) == normalise("summer10")

    def test_well_formed_codes(self) -> None:
        assert is_well_formed(normalise("WELCOME-2026_a.b"))
        assert not is_well_formed(normalise("two words"))
        assert not is_well_formed(normalise("-leading"))
        assert not is_well_formed("")
        assert not is_well_formed("a" * 65)


class TestVerdicts:
    def test_unknown_malformed_and_repeated_codes(self) -> None:
        ten = promo(PercentOff(1000), code="TEN")
        result = run(cart(line("a", 1, 1000)), ten, codes=["NOPE", "bad code", "TEN", " ten"])
        assert [v.reason for v in result.verdicts] == [
            Reason.NOT_FOUND,
            Reason.NOT_FOUND,
            None,
            Reason.DUPLICATE_CODE,
        ]
        assert result.discount_amount == 100

    def test_each_refusal_reason_in_order(self) -> None:
        soon, past = NOW + timedelta(hours=1), NOW - timedelta(seconds=1)
        pct = PercentOff(1000)
        cases: list[tuple[Promotion, Reason]] = [
            (promo(pct, is_active=False), Reason.PAUSED),
            (promo(pct, starts_at=soon), Reason.NOT_STARTED),
            (promo(pct, ends_at=past), Reason.EXPIRED),
            (promo(pct, expires_at=NOW), Reason.EXPIRED),
            (promo(pct, bound_customer_id="cus_2"), Reason.CUSTOMER_MISMATCH),
            (promo(AmountOff({"USD": 100})), Reason.CURRENCY_MISMATCH),
            (promo(pct, usage=Usage(max_redemptions=5, redemption_count=5)), Reason.LIMIT_REACHED),
            (
                promo(pct, usage=Usage(per_customer_limit=1, customer_redemption_count=1)),
                Reason.CUSTOMER_LIMIT_REACHED,
            ),
            (
                promo(
                    pct,
                    usage=Usage(
                        campaign_per_customer_limit=2, campaign_customer_redemption_count=2
                    ),
                ),
                Reason.CUSTOMER_LIMIT_REACHED,
            ),
            (promo(pct, target=Target(skus=frozenset({"other"}))), Reason.NO_ELIGIBLE_ITEMS),
            (promo(pct, conditions=Conditions(min_quantity=3)), Reason.MIN_QUANTITY_NOT_MET),
            (promo(PercentOff(1)), Reason.NOTHING_TO_DISCOUNT),
        ]
        for p, reason in cases:
            assert run(cart(line("a", 2, 10)), p).verdicts[0].reason == reason, p

    def test_customer_bound_code_needs_a_customer(self) -> None:
        p = promo(PercentOff(1000), bound_customer_id="cus_1")
        anonymous = EvaluationContext(now=NOW)
        assert (
            run(cart(line("a", 1, 100)), p, ctx=anonymous).verdicts[0].reason
            == Reason.CUSTOMER_REQUIRED
        )
        assert run(cart(line("a", 1, 100)), p).verdicts[0].is_valid

    def test_min_subtotal_counts_only_eligible_items(self) -> None:
        shoes = promo(
            PercentOff(1000),
            target=Target(categories=frozenset({"shoes"})),
            conditions=Conditions(min_subtotal_amounts={"EUR": 5000}),
        )
        c = cart(line("boot", 1, 4000, "shoes"), line("hat", 1, 9000))
        verdict = run(c, shoes).verdicts[0]
        assert verdict.reason == Reason.MIN_SUBTOTAL_NOT_MET
        assert verdict.refusal is not None
        assert verdict.refusal.shortfall is not None
        assert verdict.refusal.shortfall.amount == 1000


class TestStacking:
    def test_higher_priority_applies_first_whatever_the_request_order(self) -> None:
        half = promo(PercentOff(5000), code="HALF", priority=10)
        ten = promo(AmountOff({"EUR": 1000}), code="TEN", priority=0)
        for codes in (["HALF", "TEN"], ["TEN", "HALF"]):
            result = run(cart(line("a", 1, 3000)), half, ten, codes=codes)
            assert [a.code for a in result.applied] == ["HALF", "TEN"]
            assert result.discount_amount == 1500 + 1000

    def test_on_equal_priority_unit_level_effects_come_before_order_level_ones(self) -> None:
        bogo = promo(BuyXGetY(1, 1), code="BOGO")
        ten = promo(AmountOff({"EUR": 1000}), code="TEN")
        for codes in (["TEN", "BOGO"], ["BOGO", "TEN"]):
            result = run(cart(line("a", 1, 3000), line("b", 1, 1000)), bogo, ten, codes=codes)
            assert [a.code for a in result.applied] == ["BOGO", "TEN"]
            assert result.discount_amount == 2000

    @given(st.uuids(), st.uuids())
    def test_equal_promotions_of_two_campaigns_apply_in_the_order_of_the_ids_text(
        self, first: UUID, second: UUID
    ) -> None:
        a = promo(PercentOff(1000), campaign_id=first)
        b = promo(PercentOff(1000), campaign_id=second)
        assert (a.stacking_key < b.stacking_key) == (str(first) < str(second))

    def test_exclusive_promotion_never_combines(self) -> None:
        exclusive = promo(PercentOff(3000), code="EXCL", exclusive=True, priority=5)
        other = promo(PercentOff(1000), code="OTHER")
        result = run(cart(line("a", 1, 1000)), exclusive, other)
        assert [v.reason for v in result.verdicts] == [None, Reason.NOT_COMBINABLE]
        assert result.discount_amount == 300
        # A lower-priority exclusive one is refused once something else applied.
        late = promo(PercentOff(3000), code="LATE", exclusive=True, priority=-5)
        result = run(cart(line("a", 1, 1000)), other, late)
        assert [v.reason for v in result.verdicts] == [None, Reason.NOT_COMBINABLE]

    def test_line_exclusive_promotion_keeps_its_lines(self) -> None:
        sale = promo(
            PercentOff(2000),
            code="SALE",
            priority=10,
            line_exclusive=True,
            target=Target(skus=frozenset({"a"})),
        )
        extra = promo(PercentOff(1000), code="EXTRA")
        result = run(cart(line("a", 1, 1000), line("b", 1, 1000)), sale, extra)
        assert result.line_discount_amounts == (200, 100)
        # And it only takes lines nobody discounted before it.
        first = promo(PercentOff(1000), code="FIRST", priority=20)
        result = run(cart(line("a", 1, 1000)), first, sale)
        assert [v.reason for v in result.verdicts] == [None, Reason.NOTHING_TO_DISCOUNT]

    def test_line_exclusive_get_target_skips_lines_already_discounted(self) -> None:
        socks_sale = promo(
            PercentOff(5000), code="SOCKS", priority=10, target=Target(skus=frozenset({"socks"}))
        )
        gift_socks = promo(
            BuyXGetY(1, 1, get_target=Target(skus=frozenset({"socks"}))),
            code="SHIRT-SOCKS",
            target=Target(skus=frozenset({"shirt"})),
            line_exclusive=True,
        )
        result = run(cart(line("shirt", 1, 3000), line("socks", 1, 800)), socks_sale, gift_socks)
        assert [v.reason for v in result.verdicts] == [None, Reason.MIN_QUANTITY_NOT_MET]
        assert result.line_discount_amounts == (0, 400)

    def test_maximum_discounts_per_order(self) -> None:
        codes = [promo(AmountOff({"EUR": 100}), code=f"C{i}") for i in range(4)]
        result = run(cart(line("a", 1, 10_000)), *codes, max_discounts=2)
        reasons = [v.reason for v in result.verdicts]
        assert reasons.count(None) == 2
        assert reasons.count(Reason.MAX_DISCOUNTS_REACHED) == 2

    def test_automatic_promotions_apply_alongside_codes_and_report_skips(self) -> None:
        shipping = promo(
            ShippingOff(), code=None, conditions=Conditions(min_subtotal_amounts={"EUR": 5000})
        )
        spring = promo(PercentOff(1000), code=None, priority=-1)
        code = promo(AmountOff({"EUR": 500}), code="FIVE")
        result = run(cart(line("a", 1, 4000), shipping=495), shipping, spring, code)
        assert [a.code for a in result.applied] == ["FIVE", None]
        assert result.discount_amount == 500 + 350
        [skipped] = result.skipped
        assert skipped.reason == Reason.MIN_SUBTOTAL_NOT_MET
        assert skipped.shortfall is not None
        assert skipped.shortfall.amount == 1000
        assert "Add 10.00 EUR more" in skipped.message


# --- properties -------------------------------------------------------------------------

lines_strategy = st.lists(
    st.builds(
        CartLine,
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 12),
        unit_price_amount=st.integers(0, 50_000),
        categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
    ),
    min_size=1,
    max_size=12,
)
shipping_methods = st.none() | st.sampled_from(METHODS)


stackings = st.builds(
    Stacking,
    priority=st.integers(-2, 2),
    is_exclusive=st.booleans(),
    is_line_exclusive=st.booleans(),
    exclusive_conflict=st.sampled_from(list(ExclusiveConflict)),
    best_of=st.none() | st.sampled_from(["g1", "g2"]),
)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    """Up to four promotions of every kind, with every stacking option, rounding mode,
    calculation base and condition on the cart."""
    drawn = []
    for i in range(draw(st.integers(1, 4))):
        p = promo(
            *draw(st.lists(effects, min_size=1, max_size=2)),
            code=draw(st.sampled_from([f"P{i}", None])),
            target=draw(st.none() | targets),
            conditions=Conditions(cart=tuple(draw(st.lists(cart_conditions, max_size=1)))),
        )
        rules = replace(
            p.rules,
            rounding=draw(st.sampled_from(list(Rounding))),
            base=draw(st.sampled_from(list(CalculationBase))),
        )
        drawn.append(replace(p, rules=rules, stacking=draw(stackings)))
    return drawn


def _check_invariants(result: Evaluation) -> None:
    c = result.cart
    assert 0 <= result.discount_amount <= result.subtotal_amount
    assert 0 <= result.shipping_discount_amount <= c.shipping_amount
    assert result.total_amount >= 0
    assert sum(a.discount_amount for a in result.applied) == result.discount_amount
    for cart_line, discount, units in zip(
        c.lines, result.line_discount_amounts, result.unit_discounts, strict=True
    ):
        assert 0 <= discount <= cart_line.amount
        assert sum(count for _, count in units) == cart_line.quantity
        assert sum(each * count for each, count in units) == discount
        assert all(0 <= each <= cart_line.unit_price_amount for each, _ in units)


class TestProperties:
    @settings(max_examples=300)
    @given(lines_strategy, promotions(), st.integers(0, 2000))
    def test_totals_never_negative_and_splits_exact(
        self, lines: list[CartLine], promos: list[Promotion], shipping: int
    ) -> None:
        _check_invariants(run(Cart("EUR", tuple(lines), shipping), *promos))

    @settings(max_examples=300)
    @given(lines_strategy, promotions(), st.integers(0, 2000), shipping_methods)
    def test_no_promotion_gives_more_than_what_it_applies_to(
        self, lines: list[CartLine], promos: list[Promotion], shipping: int, method: str | None
    ) -> None:
        """Each applied promotion takes at most what its lines still cost and what shipping
        still costs; together, never more than the cart."""
        result = run(Cart("EUR", tuple(lines), shipping, method), *promos)
        _check_invariants(result)
        left = [ln.amount for ln in lines]
        shipping_left = shipping
        for application in result.applied:
            for index, amount in enumerate(application.line_discount_amounts):
                assert 0 <= amount <= left[index]
                left[index] -= amount
            assert 0 <= application.shipping_discount_amount <= shipping_left
            shipping_left -= application.shipping_discount_amount
            assert application.cashback_amount >= 0

    @settings(max_examples=300)
    @given(lines_strategy, promotions(), st.randoms(use_true_random=False))
    def test_line_order_does_not_change_the_result(
        self, lines: list[CartLine], promos: list[Promotion], rng: random.Random
    ) -> None:
        shuffled = lines[:]
        rng.shuffle(shuffled)
        first = run(Cart("EUR", tuple(lines), 500, "express"), *promos)
        second = run(Cart("EUR", tuple(shuffled), 500, "express"), *promos)

        def by_line(result: Evaluation) -> list[tuple[object, ...]]:
            return sorted(
                (ln.sort_key, d, u)
                for ln, d, u in zip(
                    result.cart.lines,
                    result.line_discount_amounts,
                    result.unit_discounts,
                    strict=True,
                )
            )

        assert by_line(first) == by_line(second)
        assert [v.reason for v in first.verdicts] == [v.reason for v in second.verdicts]
        assert first.total_amount == second.total_amount

    @given(lines_strategy, st.integers(1, 10_000))
    def test_percent_discount_follows_the_documented_rounding(
        self, lines: list[CartLine], bps: int
    ) -> None:
        result = run(Cart("EUR", tuple(lines)), promo(PercentOff(bps)))
        subtotal = sum(ln.amount for ln in lines)
        assert result.discount_amount == (subtotal * bps + 5_000) // 10_000

    @given(lines_strategy, st.sampled_from(["JPY", "EUR", "KWD"]), st.integers(1, 10**6))
    def test_fixed_amounts_use_the_carts_currency_entry(
        self, lines: list[CartLine], currency: str, amount: int
    ) -> None:
        amounts = {"JPY": amount, "EUR": amount * 2, "KWD": amount * 3}
        result = run(Cart(currency, tuple(lines)), promo(AmountOff(amounts)))
        subtotal = sum(ln.amount for ln in lines)
        assert result.discount_amount == min(amounts[currency], subtotal)
