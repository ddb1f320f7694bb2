from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from app.domain.cart import Cart, CartLine
from app.domain.codes import is_well_formed, normalise
from app.domain.context import EvaluationContext
from app.domain.engine import evaluate
from app.domain.reasons import Reason
from app.domain.rules import AmountOff, Benefit, PercentOff, Promotion

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CTX = EvaluationContext(now=NOW, customer_id="cus_1")


def promotion(code: str, benefit: Benefit, **overrides: object) -> Promotion:
    base = Promotion(
        code_id=uuid4(),
        campaign_id=uuid4(),
        code=code,
        benefit=benefit,
        is_active=True,
        currency="EUR",
        min_subtotal_amount=None,
        starts_at=None,
        ends_at=None,
        expires_at=None,
        bound_customer_id=None,
        max_redemptions=None,
        redemption_count=0,
        per_customer_limit=None,
        customer_redemption_count=0,
        campaign_per_customer_limit=None,
        campaign_customer_redemption_count=0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def cart(*amounts: int, currency: str = "EUR") -> Cart:
    return Cart(currency, tuple(CartLine(f"sku-{i}", 1, a) for i, a in enumerate(amounts)))


def verdict_reason(p: Promotion, c: Cart, ctx: EvaluationContext = CTX) -> Reason | None:
    return evaluate(c, [p.code], {normalise(p.code): p}, ctx).verdicts[0].reason


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
    def test_percent_off_is_spread_over_lines(self) -> None:
        p = promotion("TEN", PercentOff(1000))
        result = evaluate(cart(3998, 500), ["ten"], {"ten": p}, CTX)
        assert result.discount_amount == 450  # 10 % of 44.98 = 4.498 -> 4.50
        assert result.line_discount_amounts == (400, 50)
        assert result.total_amount == 4048

    def test_percent_off_is_capped(self) -> None:
        p = promotion("TEN", PercentOff(5000, max_amount=1000))
        assert evaluate(cart(10_000), ["TEN"], {"ten": p}, CTX).discount_amount == 1000

    def test_amount_off_is_clamped_to_the_subtotal(self) -> None:
        p = promotion("FIVE", AmountOff(1000))
        result = evaluate(cart(300, 200), ["FIVE"], {"five": p}, CTX)
        assert result.discount_amount == 500
        assert result.total_amount == 0

    def test_unknown_and_malformed_codes_are_not_found(self) -> None:
        result = evaluate(cart(100), ["NOPE", "bad code"], {}, CTX)
        assert [v.reason for v in result.verdicts] == [Reason.NOT_FOUND, Reason.NOT_FOUND]
        assert result.discount_amount == 0

    def test_same_code_twice_is_refused_the_second_time(self) -> None:
        p = promotion("TEN", PercentOff(1000))
        result = evaluate(cart(1000), ["TEN", " ten"], {"ten": p}, CTX)
        assert [v.reason for v in result.verdicts] == [None, Reason.DUPLICATE_CODE]
        assert result.discount_amount == 100

    def test_second_code_applies_to_what_the_first_left(self) -> None:
        a = promotion("HALF", PercentOff(5000))
        b = promotion("TENOFF", AmountOff(1000))
        result = evaluate(cart(1500), ["HALF", "TENOFF"], {"half": a, "tenoff": b}, CTX)
        assert [v.discount_amount for v in result.verdicts] == [750, 750]
        assert result.total_amount == 0

    def test_each_refusal_reason(self) -> None:
        soon, past = NOW + timedelta(hours=1), NOW - timedelta(seconds=1)
        pct = PercentOff(1000)
        cases: list[tuple[Promotion, Reason]] = [
            (promotion("A", pct, is_active=False), Reason.PAUSED),
            (promotion("A", pct, starts_at=soon), Reason.NOT_STARTED),
            (promotion("A", pct, ends_at=past), Reason.EXPIRED),
            (promotion("A", pct, expires_at=NOW), Reason.EXPIRED),
            (promotion("A", pct, bound_customer_id="cus_2"), Reason.CUSTOMER_MISMATCH),
            (promotion("A", pct, currency="USD"), Reason.CURRENCY_MISMATCH),
            (promotion("A", pct, max_redemptions=5, redemption_count=5), Reason.LIMIT_REACHED),
            (
                promotion("A", pct, per_customer_limit=1, customer_redemption_count=1),
                Reason.CUSTOMER_LIMIT_REACHED,
            ),
            (
                promotion(
                    "A", pct, campaign_per_customer_limit=2, campaign_customer_redemption_count=2
                ),
                Reason.CUSTOMER_LIMIT_REACHED,
            ),
            (promotion("A", pct, min_subtotal_amount=10_001), Reason.MIN_SUBTOTAL_NOT_MET),
        ]
        for p, reason in cases:
            assert verdict_reason(p, cart(10_000)) == reason, p

    def test_customer_bound_code_needs_a_customer(self) -> None:
        p = promotion("A", PercentOff(1000), bound_customer_id="cus_1")
        anonymous = EvaluationContext(now=NOW, customer_id=None)
        assert verdict_reason(p, cart(100), anonymous) == Reason.CUSTOMER_REQUIRED
        assert verdict_reason(p, cart(100)) is None

    def test_min_subtotal_says_how_much_is_missing(self) -> None:
        p = promotion("A", PercentOff(5000), min_subtotal_amount=3000)
        v = evaluate(cart(2550), ["A"], {"a": p}, CTX).verdicts[0]
        assert v.reason == Reason.MIN_SUBTOTAL_NOT_MET
        assert v.shortfall is not None
        assert v.shortfall.amount == 450
        assert "4.50 EUR" in v.message

    def test_a_discount_that_rounds_to_nothing_is_refused(self) -> None:
        p = promotion("A", PercentOff(100))
        assert verdict_reason(p, cart(49)) == Reason.NOTHING_TO_DISCOUNT

    def test_zero_exponent_currency(self) -> None:
        p = promotion("A", PercentOff(1500), currency="JPY")
        result = evaluate(cart(999, 1, currency="JPY"), ["A"], {"a": p}, CTX)
        assert result.discount_amount == 150  # 149.999... -> 150 yen
        assert sum(result.line_discount_amounts) == 150


benefits = st.one_of(
    st.builds(
        PercentOff,
        basis_points=st.integers(1, 10_000),
        max_amount=st.none() | st.integers(1, 10**8),
    ),
    st.builds(AmountOff, amount=st.integers(1, 10**8)),
)
line_amounts = st.lists(st.integers(0, 10**9), min_size=1, max_size=40)


class TestProperties:
    @given(line_amounts, st.lists(benefits, min_size=1, max_size=4))
    def test_totals_and_line_splits_are_exact(
        self, amounts: list[int], stack: list[Benefit]
    ) -> None:
        promos = {f"c{i}": promotion(f"C{i}", b) for i, b in enumerate(stack)}
        result = evaluate(cart(*amounts), [f"C{i}" for i in range(len(stack))], promos, CTX)
        assert 0 <= result.discount_amount <= result.subtotal_amount
        assert result.total_amount >= 0
        assert sum(result.line_discount_amounts) == result.discount_amount
        assert all(0 <= d <= a for d, a in zip(result.line_discount_amounts, amounts, strict=True))
        for verdict in result.applied:
            assert sum(verdict.line_discount_amounts) == verdict.discount_amount

    @given(line_amounts, st.integers(1, 10_000))
    def test_percent_discount_follows_the_documented_rounding(
        self, amounts: list[int], bps: int
    ) -> None:
        p = promotion("P", PercentOff(bps))
        result = evaluate(cart(*amounts), ["P"], {"p": p}, CTX)
        subtotal = sum(amounts)
        assert result.discount_amount == (subtotal * bps + 5_000) // 10_000

    @given(line_amounts, benefits)
    def test_a_single_discount_never_exceeds_the_subtotal_or_its_own_amount(
        self, amounts: list[int], benefit: Benefit
    ) -> None:
        p = promotion("P", benefit)
        result = evaluate(cart(*amounts), ["P"], {"p": p}, CTX)
        assert result.discount_amount <= sum(amounts)
        if isinstance(benefit, AmountOff):
            assert result.discount_amount <= benefit.amount
        elif benefit.max_amount is not None:
            assert result.discount_amount <= benefit.max_amount
