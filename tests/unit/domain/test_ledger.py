"""Lots and the order debits take them in (FEFO), reversals and debt."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from app.domain.ledger import (
    Account,
    AccountKind,
    Lot,
    Summary,
    after_debit,
    available,
    credit_against_debt,
    payment_message,
    payment_refusal,
    plan_debit,
    plan_payment,
    plan_reversal,
    total,
)
from app.domain.reasons import Reason

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def lot(
    remaining: int,
    *,
    expires_in: int | None = None,
    available_in: int = -1,
    age: int = 10,
) -> Lot:
    return Lot(
        id=uuid4(),
        remaining=remaining,
        available_at=NOW + timedelta(days=available_in),
        expires_at=None if expires_in is None else NOW + timedelta(days=expires_in),
        created_at=NOW - timedelta(days=age),
    )


class TestDebits:
    def test_the_lot_expiring_soonest_is_taken_first(self) -> None:
        later, sooner, never = lot(100, expires_in=60), lot(100, expires_in=30), lot(100)
        takes = plan_debit([later, never, sooner], 150, NOW)
        assert takes is not None
        assert [(t.lot_id, t.amount) for t in takes] == [(sooner.id, 100), (later.id, 50)]

    def test_lots_that_never_expire_go_last_and_oldest_first(self) -> None:
        young, old = lot(10, age=1), lot(10, age=20)
        takes = plan_debit([young, old], 15, NOW)
        assert takes is not None
        assert [(t.lot_id, t.amount) for t in takes] == [(old.id, 10), (young.id, 5)]

    def test_pending_and_expired_lots_are_not_spendable(self) -> None:
        pending, expired, live = lot(50, available_in=3), lot(50, expires_in=0), lot(20)
        assert available([pending, expired, live], NOW) == 20
        assert plan_debit([pending, expired, live], 21, NOW) is None
        takes = plan_debit([pending, expired, live], 20, NOW)
        assert takes is not None
        assert [t.lot_id for t in takes] == [live.id]

    def test_a_payment_takes_what_there_is_up_to_the_amount_due(self) -> None:
        card = lot(700)
        assert total(plan_payment([card], 1_000, NOW)) == 700
        assert total(plan_payment([card], 300, NOW)) == 300
        assert plan_payment([card], 0, NOW) == ()


class TestReversals:
    def test_the_credits_own_lot_then_pending_then_available(self) -> None:
        own = lot(30, available_in=5)
        other_pending = lot(40, available_in=2)
        spendable = lot(100, expires_in=90)
        reversal = plan_reversal([spendable, other_pending, own], [own.id], 100, NOW)
        assert [(t.lot_id, t.amount) for t in reversal.takes] == [
            (own.id, 30),
            (other_pending.id, 40),
            (spendable.id, 30),
        ]
        assert reversal.shortfall == 0

    def test_what_is_gone_is_the_shortfall(self) -> None:
        own = lot(10)
        reversal = plan_reversal([own, lot(5, expires_in=0)], [own.id], 100, NOW)
        assert total(reversal.takes) == 10
        assert reversal.shortfall == 90

    def test_a_credit_pays_debt_first(self) -> None:
        assert credit_against_debt(100, 30).lot_amount == 70
        assert credit_against_debt(100, 30).debt_paid == 30
        assert credit_against_debt(20, 30).lot_amount == 0
        assert credit_against_debt(20, 0).debt_paid == 0


_lots = st.lists(
    st.builds(
        lot,
        st.integers(0, 1_000),
        expires_in=st.one_of(st.none(), st.integers(-5, 100)),
        available_in=st.integers(-30, 10),
        age=st.integers(0, 100),
    ),
    max_size=12,
)


@given(_lots, st.integers(0, 5_000))
def test_a_debit_takes_exactly_the_amount_from_spendable_lots_or_nothing(
    lots: list[Lot], amount: int
) -> None:
    takes = plan_debit(lots, amount, NOW)
    holding = available(lots, now=NOW)
    if amount > holding:
        assert takes is None
        return
    assert takes is not None
    assert total(takes) == amount
    by_id: dict[UUID, Lot] = {one.id: one for one in lots}
    for take in takes:
        taken_from = by_id[take.lot_id]
        assert taken_from.is_spendable(NOW)
        assert 0 < take.amount <= taken_from.remaining
    # FEFO: every lot before the last one taken is emptied.
    assert all(take.amount == by_id[take.lot_id].remaining for take in takes[:-1])


@given(_lots, st.integers(0, 5_000))
def test_a_reversal_never_takes_more_than_asked_or_than_a_lot_holds(
    lots: list[Lot], amount: int
) -> None:
    own = [one.id for one in lots[:2]]
    reversal = plan_reversal(lots, own, amount, NOW)
    assert total(reversal.takes) + reversal.shortfall == amount
    by_id = {one.id: one for one in lots}
    assert all(0 < t.amount <= by_id[t.lot_id].remaining for t in reversal.takes)
    assert all(not by_id[t.lot_id].is_expired(NOW) for t in reversal.takes)


class TestAfterDebit:
    def test_a_debit_leaves_available_and_expiring_less_and_nothing_else(self) -> None:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        soon = now + timedelta(days=30)
        lots = [
            Lot(uuid4(), 100, now - timedelta(days=1), now + timedelta(days=10), now),
            Lot(uuid4(), 100, now - timedelta(days=1), now + timedelta(days=90), now),
        ]
        before = Summary(
            available=200, pending=40, expiring=100, lifetime_earned=500, earned_last_12_months=300
        )
        takes = plan_debit(lots, 150, now)
        assert takes is not None
        after = after_debit(before, lots, takes, soon)
        assert after == Summary(
            available=50, pending=40, expiring=0, lifetime_earned=500, earned_last_12_months=300
        )


class TestPayments:
    def card(self, **changes: object) -> Account:
        fields: dict[str, object] = {
            "id": uuid4(),
            "kind": AccountKind.GIFT_CARD,
            "program_id": None,
            "customer_id": None,
            "currency": "EUR",
            "code": "CARD",
            "debt": 0,
            "expires_at": None,
            "created_at": NOW,
        }
        return Account(**(fields | changes))  # type: ignore[arg-type]

    def test_a_card_pays_only_for_its_customer_in_its_currency_until_it_expires(self) -> None:
        assert payment_refusal(self.card(), "EUR", None, NOW) is None
        assert payment_refusal(None, "EUR", None, NOW) is Reason.NOT_FOUND
        bound = self.card(customer_id="ann")
        assert payment_refusal(bound, "EUR", "ann", NOW) is None
        assert payment_refusal(bound, "EUR", "bob", NOW) is Reason.CUSTOMER_MISMATCH
        assert payment_refusal(bound, "EUR", None, NOW) is Reason.CUSTOMER_MISMATCH
        assert payment_refusal(self.card(), "USD", None, NOW) is Reason.CURRENCY_MISMATCH
        expired = self.card(expires_at=NOW)
        assert payment_refusal(expired, "EUR", None, NOW) is Reason.EXPIRED
        assert payment_refusal(expired, "EUR", None, NOW - timedelta(seconds=1)) is None

    def test_every_refusal_has_a_message(self) -> None:
        for reason in (Reason.NOT_FOUND, Reason.DUPLICATE_CODE, Reason.NO_BALANCE, None):
            assert payment_message(reason)
