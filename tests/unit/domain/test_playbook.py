"""The retention playbook's offers, with exact minor-unit results."""

from datetime import UTC, datetime

from app.domain.benefits import (
    AmountOff,
    AmountOffEach,
    BuyXGetY,
    Cashback,
    FixedPrice,
    FreeGift,
    PercentOff,
    ShippingOff,
)
from app.domain.conditions import Conditions, Schedule, Target
from app.domain.context import EvaluationContext
from app.domain.reasons import Reason
from tests.unit.domain.builders import NOW, cart, line, promo, run


class TestPlaybook:
    def test_welcome_15_percent_excluding_low_margin_items(self) -> None:
        welcome = promo(
            PercentOff(1500), target=Target(exclude_categories=frozenset({"low_margin"}))
        )
        result = run(
            cart(
                line("shirt", 2, 2000, "apparel"),
                line("gift-card", 1, 5000, "low_margin"),
                line("socks", 1, 500),
            ),
            welcome,
        )
        assert result.discount_amount == 675  # 15 % of 45.00, the gift card untouched
        assert result.line_discount_amounts == (600, 0, 75)
        assert result.unit_discounts[0] == ((300, 2),)
        assert result.total_amount == 9500 - 675

    def test_half_off_with_a_minimum_of_30(self) -> None:
        half = promo(PercentOff(5000), conditions=Conditions(min_subtotal_amounts={"EUR": 3000}))
        short = run(cart(line("a", 1, 2999)), half).verdicts[0]
        assert short.reason == Reason.MIN_SUBTOTAL_NOT_MET
        assert short.refusal is not None
        assert short.refusal.shortfall is not None
        assert short.refusal.shortfall.amount == 1
        assert "Add 0.01 EUR more" in short.refusal.message
        assert run(cart(line("a", 1, 4000)), half).discount_amount == 2000

    def test_apology_ten_off_and_free_shipping(self) -> None:
        apology = promo(AmountOff({"EUR": 1000}), ShippingOff())
        result = run(cart(line("a", 1, 2500), shipping=495), apology)
        assert (result.discount_amount, result.shipping_discount_amount) == (1000, 495)
        assert result.total_amount == 1500

    def test_bogo_gives_the_cheapest_units(self) -> None:
        bogo = promo(BuyXGetY(buy_quantity=1, get_quantity=1))
        one = run(cart(line("a", 1, 3000), line("b", 1, 2000), line("c", 1, 1000)), bogo)
        assert one.line_discount_amounts == (0, 0, 1000)
        two = run(cart(line("a", 2, 3000), line("b", 2, 1000)), bogo)
        assert two.line_discount_amounts == (0, 2000)
        short = run(cart(line("a", 1, 3000)), bogo).verdicts[0]
        assert short.reason == Reason.MIN_QUANTITY_NOT_MET
        assert short.refusal is not None
        assert "Add 1 more item" in short.refusal.message

    def test_bogo_with_its_own_get_target_and_a_maximum(self) -> None:
        # Buy 2 shirts, get a pair of socks at half price, at most twice.
        deal = promo(
            BuyXGetY(
                2,
                1,
                basis_points=5000,
                get_target=Target(skus=frozenset({"socks"})),
                max_applications=2,
            ),
            target=Target(skus=frozenset({"shirt"})),
        )
        result = run(cart(line("shirt", 6, 2000), line("socks", 5, 600)), deal)
        assert result.line_discount_amounts == (0, 600)  # two pairs at 3.00 off

    def test_french_campaign_is_refused_for_an_english_cart(self) -> None:
        french = promo(
            PercentOff(1000),
            conditions=Conditions(markets=frozenset({"FR"}), locales=frozenset({"fr"})),
        )
        english = EvaluationContext(now=NOW, market="GB", locale="en-GB")
        assert (
            run(cart(line("a", 1, 1000)), french, ctx=english).verdicts[0].reason
            == Reason.MARKET_NOT_ELIGIBLE
        )
        wrong_language = EvaluationContext(now=NOW, market="FR", locale="en-GB")
        assert (
            run(cart(line("a", 1, 1000)), french, ctx=wrong_language).verdicts[0].reason
            == Reason.LOCALE_NOT_ELIGIBLE
        )
        french_cart = EvaluationContext(now=NOW, market="FR", locale="fr-FR")
        assert run(cart(line("a", 1, 1000)), french, ctx=french_cart).discount_amount == 100

    def test_friday_evening_only(self) -> None:
        friday_evening = Schedule("Europe/Paris", frozenset({5}), 18 * 60, 23 * 60)
        offer = promo(PercentOff(2000), conditions=Conditions(schedule=friday_evening))
        moments = {
            datetime(2026, 11, 27, 17, 30, tzinfo=UTC): None,  # Friday 18:30 in Paris
            datetime(2026, 11, 27, 16, 59, tzinfo=UTC): Reason.OUTSIDE_SCHEDULE,  # 17:59
            datetime(2026, 11, 27, 22, 0, tzinfo=UTC): Reason.OUTSIDE_SCHEDULE,  # 23:00
            datetime(2026, 11, 28, 18, 0, tzinfo=UTC): Reason.OUTSIDE_SCHEDULE,  # Saturday
        }
        for moment, reason in moments.items():
            result = run(cart(line("a", 1, 1000)), offer, ctx=EvaluationContext(now=moment))
            assert result.verdicts[0].reason == reason, moment

    def test_overnight_window(self) -> None:
        night = Schedule("UTC", frozenset(), 22 * 60, 2 * 60)
        assert night.contains(datetime(2026, 1, 1, 23, 0, tzinfo=UTC))
        assert night.contains(datetime(2026, 1, 1, 1, 59, tzinfo=UTC))
        assert not night.contains(datetime(2026, 1, 1, 2, 0, tzinfo=UTC))

    def test_customer_segments_and_first_order(self) -> None:
        newcomers = promo(
            PercentOff(1500),
            conditions=Conditions(segments=frozenset({"new_customer"}), first_order_only=True),
        )
        c = cart(line("a", 1, 1000))
        regular = EvaluationContext(now=NOW, segments=frozenset({"vip"}), is_first_order=True)
        assert run(c, newcomers, ctx=regular).verdicts[0].reason == Reason.SEGMENT_NOT_ELIGIBLE
        returning = EvaluationContext(
            now=NOW, segments=frozenset({"new_customer"}), is_first_order=False
        )
        assert run(c, newcomers, ctx=returning).verdicts[0].reason == Reason.FIRST_ORDER_ONLY
        first = EvaluationContext(
            now=NOW, segments=frozenset({"new_customer"}), is_first_order=True
        )
        assert run(c, newcomers, ctx=first).discount_amount == 150

    def test_fixed_price_and_amount_off_each(self) -> None:
        c = cart(line("tee", 3, 2500, "tees"), line("cap", 1, 1500))
        three_for_ten = promo(
            FixedPrice({"EUR": 1000}), target=Target(categories=frozenset({"tees"}))
        )
        assert run(c, three_for_ten).line_discount_amounts == (4500, 0)
        two_off_each = promo(AmountOffEach({"EUR": 200}))
        assert run(c, two_off_each).line_discount_amounts == (600, 200)

    def test_percent_caps_per_order_and_per_line(self) -> None:
        c = cart(line("tv", 1, 100_000), line("cable", 1, 1000))
        capped = promo(PercentOff(2000, max_amounts={"EUR": 5000}, max_line_amounts={"EUR": 3000}))
        result = run(c, capped)
        # 20 % = 202.00, capped to 50.00 per order, spread 49.50 / 0.50, then 30.00 per line.
        assert result.line_discount_amounts == (3000, 50)

    def test_free_gift_and_cashback(self) -> None:
        gift = promo(FreeGift("tote-bag"), code="GIFT")
        cashback = promo(Cashback(1500, max_amounts={"EUR": 1000}), code="BACK", priority=-10)
        result = run(cart(line("a", 1, 4000)), gift, cashback)
        assert next(a.gifts for a in result.applied if a.gifts)[0].sku == "tote-bag"
        assert result.cashback_amount == 600
        assert result.total_amount == 4000

    def test_fixed_amounts_are_per_currency(self) -> None:
        ten_off = promo(AmountOff({"EUR": 1000, "JPY": 1500, "KWD": 3000}))
        assert (
            run(
                cart(
                    line(
                        "a",
                        1,
                        5000,
                    ),
                    currency="JPY",
                ),
                ten_off,
            ).discount_amount
            == 1500
        )
        assert run(cart(line("a", 1, 5000), currency="KWD"), ten_off).discount_amount == 3000
        usd = run(cart(line("a", 1, 5000), currency="USD"), ten_off).verdicts[0]
        assert usd.reason == Reason.CURRENCY_MISMATCH

    def test_shortfall_is_written_in_the_currency_exponent(self) -> None:
        kwd = promo(
            PercentOff(1000),
            conditions=Conditions(min_subtotal_amounts={"KWD": 10_000, "JPY": 3000}),
        )
        refusal = run(cart(line("a", 1, 5500), currency="KWD"), kwd).verdicts[0].refusal
        assert refusal is not None
        assert "Add 4.500 KWD more" in refusal.message
        refusal = run(cart(line("a", 1, 2500), currency="JPY"), kwd).verdicts[0].refusal
        assert refusal is not None
        assert "Add 500 JPY more" in refusal.message
