"""Balances as lots: every credit (points earned, a gift card's value, a top-up, cashback) is a
lot with its own `available_at` and `expires_at`, and every debit takes from lots. Points and
money follow the same rules; amounts are integers (points, or minor units of one currency).

Debits take the lots that expire soonest first (FEFO), so a customer never loses points that
could have been spent; a lot without an expiry is taken last. Ties go to the oldest lot.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.reasons import Reason


class AccountKind(StrEnum):
    """'points': one customer in one loyalty program. 'gift_card': a balance code anyone holding
    it may pay with (or only its customer, when bound). 'wallet': a customer's cashback balance
    in one currency, also paid with by its code."""

    POINTS = "points"
    GIFT_CARD = "gift_card"
    WALLET = "wallet"


class EntryKind(StrEnum):
    """What a ledger entry records. Entries are never changed or deleted; a correction is a new
    entry."""

    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"
    ISSUE = "issue"
    TOP_UP = "top_up"
    PAYMENT = "payment"
    REFUND = "refund"
    CASHBACK = "cashback"


@dataclass(frozen=True, slots=True)
class Account:
    """A balance: a member's points in a program, a gift card or a customer's wallet."""

    id: UUID
    kind: AccountKind
    program_id: UUID | None
    customer_id: str | None
    currency: str | None
    code: str | None
    debt: int
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """A change to a balance, as recorded (credits positive)."""

    id: UUID
    account_id: UUID
    kind: EntryKind
    amount: int
    order_id: str | None
    redemption_id: UUID | None
    reward_id: UUID | None
    code_id: UUID | None
    api_key_id: UUID | None
    reason: str | None
    details: Mapping[str, object]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append; the database gives it its id and time."""

    kind: EntryKind
    amount: int
    order_id: str | None = None
    redemption_id: UUID | None = None
    reward_id: UUID | None = None
    code_id: UUID | None = None
    api_key_id: UUID | None = None
    reason: str | None = None
    details: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class NewLot:
    """The lot a credit opens: amount, of which remaining is spendable from available_at
    (less when a debt took some of it), until expires_at."""

    amount: int
    remaining: int
    available_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Lot:
    id: UUID
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    created_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_spendable(self, now: datetime) -> bool:
        return self.remaining > 0 and self.available_at <= now and not self.is_expired(now)

    def is_pending(self, now: datetime) -> bool:
        return self.remaining > 0 and self.available_at > now and not self.is_expired(now)


@dataclass(frozen=True, slots=True)
class Summary:
    """An account's lots summed at one moment. `expiring`: what live lots lose by a horizon
    unless spent."""

    available: int
    pending: int
    expiring: int
    lifetime_earned: int
    earned_last_12_months: int


@dataclass(frozen=True, slots=True)
class Take:
    """So much taken from one lot."""

    lot_id: UUID
    amount: int


def _fefo_key(lot: Lot) -> tuple[bool, datetime, datetime, UUID]:
    # A lot that never expires sorts after every one that does.
    return (lot.expires_at is None, lot.expires_at or lot.created_at, lot.created_at, lot.id)


def spendable(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    """The lots a debit may take from now, in the order it takes them."""
    return sorted((lot for lot in lots if lot.is_spendable(now)), key=_fefo_key)


def available(lots: Iterable[Lot], now: datetime) -> int:
    """What the lots hold that could be spent now."""
    return sum(lot.remaining for lot in lots if lot.is_spendable(now))


def take_up_to(ordered: Sequence[Lot], amount: int) -> tuple[Take, ...]:
    """Take as much of amount as the lots hold, in their order."""
    takes: list[Take] = []
    left = amount
    for lot in ordered:
        if left <= 0:
            break
        taken = min(lot.remaining, left)
        if taken > 0:
            takes.append(Take(lot.id, taken))
            left -= taken
    return tuple(takes)


def total(takes: Iterable[Take]) -> int:
    return sum(take.amount for take in takes)


def after_debit(
    summary: Summary, lots: Iterable[Lot], takes: Iterable[Take], expiring_by: datetime
) -> Summary:
    """The summary once takes (a debit planned from spendable lots) are taken: what it took
    was available, and expiring if its lot expires by the horizon; nothing else changes."""
    expires = {lot.id: lot.expires_at for lot in lots}
    taken = expiring = 0
    for take in takes:
        taken += take.amount
        expiry = expires[take.lot_id]
        if expiry is not None and expiry <= expiring_by:
            expiring += take.amount
    return replace(
        summary, available=summary.available - taken, expiring=summary.expiring - expiring
    )


def plan_debit(lots: Iterable[Lot], amount: int, now: datetime) -> tuple[Take, ...] | None:
    """Exactly amount from the spendable lots, soonest to expire first; None when they do not
    hold that much (nothing is taken then)."""
    takes = take_up_to(spendable(lots, now), amount)
    return takes if total(takes) == amount else None


def plan_payment(lots: Iterable[Lot], due: int, now: datetime) -> tuple[Take, ...]:
    """What a balance code pays towards due: all of it, or everything spendable if less."""
    return take_up_to(spendable(lots, now), due)


@dataclass(frozen=True, slots=True)
class Reversal:
    """Taking back a credit (points of a returned order, cashback of a rolled-back one)."""

    takes: tuple[Take, ...]
    # What the lots no longer held, because it was spent or expired meanwhile.
    shortfall: int


def plan_reversal(
    lots: Iterable[Lot], own_lot_ids: Iterable[UUID], amount: int, now: datetime
) -> Reversal:
    """Take amount back: first from the credit's own lots (whatever is left of them), then from
    other pending lots, then from spendable ones soonest to expire first. Whatever is still
    missing is the shortfall, for the caller to record as debt or to forgive."""
    own = set(own_lot_ids)
    pool = [lot for lot in lots if lot.remaining > 0 and not lot.is_expired(now)]
    first = sorted((lot for lot in pool if lot.id in own), key=_fefo_key)
    pending = sorted(
        (lot for lot in pool if lot.id not in own and lot.is_pending(now)),
        key=lambda lot: (lot.available_at, lot.created_at, lot.id),
    )
    rest = spendable((lot for lot in pool if lot.id not in own), now)
    takes = take_up_to([*first, *pending, *rest], amount)
    return Reversal(takes=takes, shortfall=amount - total(takes))


def taken_back(reversal: Entry) -> int:
    """How much of its credit a reverse entry took back: taken from lots, made debt or
    forgiven alike (db/repositories/ledger.reversed_amounts adds up the same in SQL)."""
    details = reversal.details
    return sum(int(str(details[part])) for part in ("taken", "debt_added", "forgiven"))


@dataclass(frozen=True, slots=True)
class Credit:
    """How a new credit lands on an account that may owe some of it: the debt is paid first and
    the lot keeps the rest."""

    lot_amount: int
    debt_paid: int


def credit_against_debt(amount: int, debt: int) -> Credit:
    paid = min(amount, max(debt, 0))
    return Credit(lot_amount=amount - paid, debt_paid=paid)


# -- gift cards and wallets at /redeem

_PAYMENT_MESSAGES = {
    Reason.NOT_FOUND: "No gift card or wallet has this code.",
    Reason.DUPLICATE_CODE: "The code was given more than once.",
    Reason.EXPIRED: "The gift card has expired.",
    Reason.CUSTOMER_MISMATCH: "The balance belongs to another customer.",
    Reason.CURRENCY_MISMATCH: "The balance is in another currency than the order.",
    Reason.NO_BALANCE: "Nothing is left to spend on it.",
}


def payment_refusal(
    account: Account | None, currency: str, customer_id: str | None, now: datetime
) -> Reason | None:
    """Why a gift card or wallet cannot pay towards an order, or None when it can (if it
    holds anything: NO_BALANCE is decided on its lots)."""
    if account is None:
        return Reason.NOT_FOUND
    if account.customer_id is not None and account.customer_id != customer_id:
        return Reason.CUSTOMER_MISMATCH
    if account.currency != currency:
        return Reason.CURRENCY_MISMATCH
    if account.expires_at is not None and account.expires_at <= now:
        return Reason.EXPIRED
    return None


def payment_message(reason: Reason | None) -> str:
    """What a balance code's verdict says to the shopper."""
    return "It pays towards the order." if reason is None else _PAYMENT_MESSAGES[reason]
