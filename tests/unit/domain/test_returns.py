"""Partial returns, pure: the order's promotions applied again to what stays, never giving
more than before, never making the shopper owe; balance refunds and points shares exact."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.benefits import AmountOff, BuyXGetY, PercentOff, ShippingOff
from app.domain.cart import Cart, CartLine
from app.domain.conditions import Conditions
from app.domain.engine import Evaluation
from app.domain.ledger import Lot, Take
from app.domain.returns import (
    Item,
    Order,
    PaidLot,
    ReturnedShare,
    ReturnRefused,
    Terms,
    Wanted,
    balance_refunds,
    in_refund_order,
    recompute,
    returned_quantities,
    share_to_take_back,
)
from app.domain.rules import Promotion, Stacking
from tests.unit.domain.builders import cart, line, promo, run
from tests.unit.domain.test_engine import lines_strategy, promotions, shipping_methods


def order_of(result: Evaluation, returned: tuple[int, ...] | None = None) -> Order:
    """The order a redeem of result records."""
    return Order(
        currency=result.cart.currency,
        lines=result.cart.lines,
        returned=returned or (0,) * len(result.cart.lines),
        shipping_amount=result.cart.shipping_amount,
        shipping_method=result.cart.shipping_method,
        total_amount=result.total_amount,
        items=tuple(
            Item(
                position=position,
                terms=Terms.of(application.promotion),
                discount_amount=application.discount_amount,
                shipping_discount_amount=application.shipping_discount_amount,
                cashback_amount=application.cashback_amount,
            )
            for position, application in enumerate(result.applied)
        ),
    )


def redeem(c: Cart, *promotions: Promotion) -> Order:
    return order_of(run(c, *promotions))


class TestRecompute:
    def test_a_percentage_shrinks_with_the_lines(self) -> None:
        order = redeem(cart(line("a", 2, 2000), line("b", 1, 1000)), promo(PercentOff(1000)))
        after = recompute(order, returned_quantities(order, [Wanted("a", 1)]), 5)
        assert (after.discount_amount, after.total_amount, after.refund_amount) == (
            300,
            2700,
            1800,
        )
        assert after.items[0].given_back_amount == 200

    def test_a_minimum_no_longer_met_takes_the_discount_away(self) -> None:
        minimum = Conditions(min_subtotal_amounts={"EUR": 5000})
        order = redeem(
            cart(line("a", 1, 3000), line("b", 1, 3000)),
            promo(PercentOff(1000), conditions=minimum),
        )
        after = recompute(order, returned_quantities(order, [Wanted("b", 1)]), 5)
        assert (after.discount_amount, after.refund_amount) == (0, 2400)

    def test_the_shopper_never_owes_shipping_discount_kept_first(self) -> None:
        """Free shipping and 50.00 off from 100.00: returning a 5.00 line loses both (worth
        54.95); the order keeps all of its shipping discount and 0.05 of the 50.00."""
        minimum = Conditions(min_subtotal_amounts={"EUR": 10_000})
        order = redeem(
            cart(line("a", 1, 9500), line("b", 1, 500), shipping=495),
            promo(AmountOff({"EUR": 5000}), ShippingOff(10_000), conditions=minimum),
        )
        assert order.total_amount == 5000
        after = recompute(order, returned_quantities(order, [Wanted("b", 1)]), 5)
        assert (after.total_amount, after.refund_amount) == (5000, 0)
        assert (after.shipping_discount_amount, after.discount_amount) == (495, 4500)

    def test_buy_two_get_one_keeps_what_was_paid(self) -> None:
        order = redeem(cart(line("a", 3, 1000)), promo(BuyXGetY(2, 1)))
        after = recompute(order, returned_quantities(order, [Wanted("a", 1)]), 5)
        assert (after.total_amount, after.refund_amount) == (2000, 0)

    def test_skus_come_back_from_their_lines_in_cart_order_or_the_line_named(self) -> None:
        order = redeem(cart(line("a", 2, 100), line("b", 1, 100), line("a", 2, 50)))
        assert returned_quantities(order, [Wanted("a", 3)]) == (2, 0, 1)
        assert returned_quantities(order, [Wanted("a", 1, index=2)]) == (0, 0, 1)
        # Named lines first, whatever the request's order.
        assert returned_quantities(order, [Wanted("a", 2), Wanted("a", 1, index=0)]) == (
            2,
            0,
            1,
        )

    @pytest.mark.parametrize(
        ("wanted", "message"),
        [
            ([Wanted("a", 5)], "Only 4 of sku 'a'"),
            ([Wanted("z", 1)], "no line with sku 'z'"),
            ([Wanted("b", 1), Wanted("b", 1)], "Only 0 of sku 'b'"),
            ([Wanted("a", 3, index=2)], "Only 2 of line 2 \\(sku 'a'\\)"),
            ([Wanted("a", 1, index=1)], "no line 1 with sku 'a'"),
            ([Wanted("a", 1, index=7)], "no line 7 with sku 'a'"),
        ],
    )
    def test_more_than_is_left_is_refused(self, wanted: list[Wanted], message: str) -> None:
        order = redeem(cart(line("a", 2, 100), line("b", 1, 100), line("a", 2, 50)))
        with pytest.raises(ReturnRefused, match=message):
            returned_quantities(order, wanted)

    @settings(max_examples=300)
    @given(lines_strategy, promotions(), st.integers(0, 2000), shipping_methods)
    def test_nothing_returned_gives_the_redeemed_amounts_again(
        self, lines: list[CartLine], promos: list[Promotion], shipping: int, method: str | None
    ) -> None:
        """Applied again to the whole cart, the promotions give exactly what they gave."""
        result = run(Cart("EUR", tuple(lines), shipping, method), *promos)
        order = order_of(result)
        after = recompute(order, order.returned, 5)
        assert after.total_amount == result.total_amount
        assert after.refund_amount == 0
        assert [
            (i.discount_amount, i.shipping_discount_amount, i.cashback_amount) for i in after.items
        ] == [
            (a.discount_amount, a.shipping_discount_amount, a.cashback_amount)
            for a in result.applied
        ]

    @settings(max_examples=300)
    @given(lines_strategy, promotions(), st.integers(0, 2000), shipping_methods, st.data())
    def test_a_return_never_raises_a_discount_nor_makes_the_shopper_owe(
        self,
        lines: list[CartLine],
        promos: list[Promotion],
        shipping: int,
        method: str | None,
        data: st.DataObject,
    ) -> None:
        result = run(Cart("EUR", tuple(lines), shipping, method), *promos)
        order = order_of(result)
        returned = tuple(data.draw(st.integers(0, ln.quantity)) for ln in lines)
        after = recompute(order, returned, 5)
        kept = sum(
            (ln.quantity - back) * ln.unit_price_amount
            for ln, back in zip(lines, returned, strict=True)
        )
        assert after.subtotal_amount == kept
        assert 0 <= after.discount_amount <= after.subtotal_amount
        assert 0 <= after.shipping_discount_amount <= shipping
        assert after.total_amount == (
            kept - after.discount_amount + shipping - after.shipping_discount_amount
        )
        assert 0 <= after.refund_amount == order.total_amount - after.total_amount
        for before, now in zip(order.items, after.items, strict=True):
            assert 0 <= now.discount_amount <= before.discount_amount
            assert 0 <= now.shipping_discount_amount <= before.shipping_discount_amount
            assert 0 <= now.cashback_amount <= before.cashback_amount
            assert now.given_back_amount == before.given - (
                now.discount_amount + now.shipping_discount_amount
            )
        assert sum(i.discount_amount for i in after.items) == after.discount_amount


def lot(payment: uuid.UUID, amount: int) -> PaidLot:
    return PaidLot(payment, uuid.uuid4(), amount)


class TestBalanceRefunds:
    def test_the_last_payment_comes_back_first(self) -> None:
        first, second = uuid.uuid4(), uuid.uuid4()
        paid = [lot(first, 1000), lot(second, 2500), lot(second, 1500)]
        back = balance_refunds(paid, 2700)
        assert back == {
            second: [Take(paid[2].lot_id, 1500), Take(paid[1].lot_id, 800)],
        }
        assert balance_refunds(paid, 5000) == {}
        assert sum(t.amount for takes in balance_refunds(paid, 0).values() for t in takes) == 5000

    @given(st.lists(st.integers(1, 5000), min_size=1, max_size=6), st.integers(0, 40_000))
    def test_refunds_are_what_was_paid_beyond_the_new_total(
        self, amounts: list[int], new_total: int
    ) -> None:
        paid = [lot(uuid.uuid4(), amount) for amount in amounts]
        back = balance_refunds(paid, new_total)
        refunded = {t.lot_id: t.amount for takes in back.values() for t in takes}
        assert sum(refunded.values()) == max(0, sum(amounts) - new_total)
        assert all(0 < refunded[p.lot_id] <= p.amount for p in paid if p.lot_id in refunded)


class TestRefundOrder:
    def test_a_payment_refunds_into_its_lots_that_keep_it_spendable_longest(self) -> None:
        now = datetime(2026, 6, 1, tzinfo=UTC)
        payment = uuid.uuid4()
        expired, soon, later, never = (lot(payment, 100) for _ in range(4))
        lots = {
            expired.lot_id: stored(expired, now - timedelta(days=1)),
            soon.lot_id: stored(soon, now + timedelta(days=1)),
            later.lot_id: stored(later, now + timedelta(days=90)),
            never.lot_id: stored(never, None),
        }
        ordered = in_refund_order([soon, never, expired, later], lots, now)
        assert ordered == [expired, soon, later, never]
        back = balance_refunds(ordered, 250)
        assert back == {payment: [Take(never.lot_id, 100), Take(later.lot_id, 50)]}


def stored(paid: PaidLot, expires_at: datetime | None) -> Lot:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    return Lot(paid.lot_id, 0, created, expires_at, created)


class TestPointsShare:
    @given(
        st.integers(0, 100_000),
        st.integers(1, 100_000),
        st.lists(st.integers(0, 100), min_size=1, max_size=5),
    )
    def test_returns_take_back_their_share_and_the_last_one_all_that_is_left(
        self, credited: int, order_total: int, steps: list[int]
    ) -> None:
        taken = 0
        total = order_total
        for step in steps:
            refund = min(total, step * order_total // 100)
            more = share_to_take_back(credited - taken, ReturnedShare(total, refund))
            assert 0 <= more <= credited - taken
            taken += more
            total -= refund
        taken += share_to_take_back(credited - taken, ReturnedShare(total, total))
        assert taken == credited

    def test_the_share_is_of_what_was_left(self) -> None:
        # 36 points on 36.00; half comes back: 18.
        assert share_to_take_back(36, ReturnedShare(3600, 1800)) == 18
        # Earned on 75.00 after 25.00 came back: another 25.00 back takes a third.
        assert share_to_take_back(75, ReturnedShare(7500, 2500)) == 25
        assert share_to_take_back(5, ReturnedShare(200, 100)) == 3  # 2.5 -> 3
        assert share_to_take_back(5, ReturnedShare(200, 200)) == 5
        assert share_to_take_back(5, ReturnedShare(0, 0)) == 0


def test_a_return_applies_the_promotions_in_the_order_they_applied() -> None:
    """The winner of a best_of group applied where its group's first member came (priority
    5), before X (priority 3), although its own priority is 0: a return applies them in that
    order again, so returning B refunds what B's share of the two 50 % discounts was."""
    group = "bg"
    g1 = replace(
        promo(ShippingOff(amounts={"EUR": 100}), code="G1"),
        stacking=Stacking(priority=5, best_of=group),
    )
    g2 = replace(promo(PercentOff(5000), code="G2"), stacking=Stacking(priority=0, best_of=group))
    x = replace(promo(PercentOff(5000), code="X"), stacking=Stacking(priority=3))
    order = redeem(cart(line("A", 1, 10_000), line("B", 2, 100), shipping=500), g1, g2, x)
    assert order.total_amount == 3050
    after = recompute(order, returned_quantities(order, [Wanted("B", 1)]), 5)
    assert [i.discount_amount for i in after.items] == [5050, 2525]
    assert (after.total_amount, after.refund_amount) == (3025, 25)
