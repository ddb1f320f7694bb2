"""Balance codes: gift cards (issued with a value, topped up) and customers' cashback wallets
(credited at redeem, pending through the return window). At /redeem they pay towards the
order's total after discounts, up to their balance; a rollback puts back exactly what each
took, into the lots it was taken from, and takes back the cashback the order credited.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from app.db.errors import DuplicateKeyError
from app.db.uow import UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.codegen import parse_spec
from app.domain.codes import display, is_well_formed, normalise
from app.domain.guesses import blocking
from app.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    EntryKind,
    Lot,
    NewEntry,
    NewLot,
    Take,
    available,
    payment_message,
    payment_refusal,
    plan_payment,
    taken_back,
    total,
)
from app.domain.reasons import Reason
from app.domain.returns import balance_refunds, in_refund_order, paid_lots
from app.services.campaigns import insert_drawn
from app.services.checkout_results import BalanceRefund, BalanceVerdict, CashbackCredit, Payment
from app.services.errors import (
    BalanceCodeNotFound,
    CodeAlreadyExists,
    CurrencyMismatch,
    InvalidGiftCard,
)
from app.services.guesses import count_failed_guesses, guess_subjects, refuse_if_blocked
from app.services.idempotency import IdempotencyClaim, Written, write_once
from app.services.ledger import reverse_credit
from app.settings import GuessSettings

# Gift cards and wallets stand for money: longer than promotion codes.
_BALANCE_CODE = parse_spec(length=16)


async def _draw_code(
    uow: UnitOfWork,
    kind: AccountKind,
    currency: str,
    customer_id: str | None,
    expires_at: datetime | None,
) -> Account | None:
    """A new account with a drawn code; None when the customer already has that wallet."""
    return await insert_drawn(
        _BALANCE_CODE,
        lambda text: uow.ledger.insert_balance_code(
            kind=kind,
            code=text,
            normalised_code=normalise(text),
            currency=currency,
            customer_id=customer_id,
            expires_at=expires_at,
        ),
    )


async def _credit(
    uow: UnitOfWork,
    account: Account,
    entry: NewEntry,
    available_at: datetime,
    now: datetime,
) -> Entry:
    """The entry and its lot, all spendable from available_at until the account expires."""
    lot = NewLot(entry.amount, entry.amount, available_at, account.expires_at)
    return await uow.ledger.credit(account.id, entry, now, lot=lot)


@dataclass(frozen=True, slots=True)
class BalanceCodeView:
    """A gift card or wallet and what it holds now."""

    id: UUID
    kind: AccountKind
    code: str
    currency: str
    customer_id: str | None
    available_amount: int
    pending_amount: int
    expires_at: datetime | None
    created_at: datetime


async def balance_of(uow: UnitOfWork, account: Account, now: datetime) -> BalanceCodeView:
    summary = await uow.ledger.summary(account.id, now, timedelta(0))
    assert account.code is not None, "gift cards and wallets have codes"
    assert account.currency is not None, "gift cards and wallets hold a currency"
    return BalanceCodeView(
        id=account.id,
        kind=account.kind,
        code=account.code,
        currency=account.currency,
        customer_id=account.customer_id,
        available_amount=summary.available,
        pending_amount=summary.pending,
        expires_at=account.expires_at,
        created_at=account.created_at,
    )


@dataclass(frozen=True, slots=True)
class GiftCardTerms:
    currency: str
    amount: int
    code: str | None = None
    customer_id: str | None = None
    expires_at: datetime | None = None


async def issue_gift_card(
    uow: UnitOfWork, terms: GiftCardTerms, claim: IdempotencyClaim, now: datetime
) -> Written[BalanceCodeView]:
    """A gift card worth amount: its code (given, or drawn from 16 characters without
    look-alikes), an issue entry and its lot. A retry with the same Idempotency-Key returns
    the same card."""
    if terms.code is not None and not is_well_formed(normalise(terms.code)):
        raise InvalidGiftCard(
            "A code is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.",
            fields=["code"],
        )
    if terms.expires_at is not None and terms.expires_at <= now:
        raise InvalidGiftCard("'expires_at' is in the past.", fields=["expires_at"])

    async def issue() -> BalanceCodeView:
        if terms.code is None:
            account = await _draw_code(
                uow, AccountKind.GIFT_CARD, terms.currency, terms.customer_id, terms.expires_at
            )
        else:
            try:
                account = await uow.ledger.insert_balance_code(
                    kind=AccountKind.GIFT_CARD,
                    code=display(terms.code),
                    normalised_code=normalise(terms.code),
                    currency=terms.currency,
                    customer_id=terms.customer_id,
                    expires_at=terms.expires_at,
                )
            except DuplicateKeyError as exc:
                raise CodeAlreadyExists(
                    f"A gift card or wallet with code {terms.code!r} already exists."
                ) from exc
        assert account is not None, "a gift card never conflicts on the wallet index"
        entry = NewEntry(kind=EntryKind.ISSUE, amount=terms.amount, api_key_id=claim.api_key_id)
        await _credit(uow, account, entry, now, now)
        await uow.audit.record(
            AuditEntry(
                action=Action.GIFT_CARD_ISSUED,
                api_key_id=claim.api_key_id,
                customer_id=terms.customer_id,
                subject_id=account.id,
                details={"amount": terms.amount, "currency": terms.currency},
            )
        )
        return await balance_of(uow, account, now)

    return await write_once(uow, claim, issue)


async def _gift_card(uow: UnitOfWork, gift_card_id: UUID) -> Account:
    account = await uow.ledger.get(gift_card_id)
    if account is None or account.kind is not AccountKind.GIFT_CARD:
        raise BalanceCodeNotFound(f"No gift card has id {gift_card_id}.")
    return account


@dataclass(frozen=True, slots=True)
class Lookup:
    """A gift card asked for by its code, and who asks: the code is the secret, so a lookup is
    a guess like a code at /validate and is counted the same way."""

    code: str
    customer_id: str | None
    client_ip: str | None
    api_key_id: UUID


async def look_up_gift_card(
    uow: UnitOfWork, lookup: Lookup, guesses: GuessSettings, now: datetime
) -> BalanceCodeView:
    """The gift card with this code: an unbound card for anyone, a bound one only for its
    customer. An unknown code, or one bound to a customer the lookup does not name, is a failed
    guess; once the customer's or the address's allowance is used up every lookup is refused
    (429) whatever the code, so the answers stop telling which codes exist."""
    counted = guess_subjects(lookup.api_key_id, lookup.customer_id, lookup.client_ip, guesses)
    async with uow:
        refuse_if_blocked(await uow.guesses.blocked_until(blocking(counted), now), now)
        key = normalise(lookup.code)
        account = (await uow.ledger.by_code([key])).get(key) if is_well_formed(key) else None
        # As at redeem: a card bound to a customer exists only for that customer.
        bound_elsewhere = (
            account is not None
            and account.customer_id is not None
            and account.customer_id != lookup.customer_id
        )
        if account is None or account.kind is not AccountKind.GIFT_CARD or bound_elsewhere:
            await count_failed_guesses(
                uow.guesses.record, lookup.api_key_id, counted, 1, now, guesses
            )
            await uow.commit()
            raise BalanceCodeNotFound("No gift card has this code.")
        return await balance_of(uow, account, now)


async def top_up(
    uow: UnitOfWork,
    gift_card_id: UUID,
    amount: int,
    currency: str,
    claim: IdempotencyClaim,
    now: datetime,
) -> Written[BalanceCodeView]:
    """Add amount to a gift card (a new lot, with the card's expiry). Idempotent by key."""

    async def add() -> BalanceCodeView:
        account = await _gift_card(uow, gift_card_id)
        if currency != account.currency:
            raise CurrencyMismatch(
                f"The gift card holds {account.currency}, not {currency}.", fields=["currency"]
            )
        if account.expires_at is not None and account.expires_at <= now:
            raise InvalidGiftCard("The gift card has expired; it cannot be topped up.")
        await uow.ledger.lock([account.id])
        entry = NewEntry(kind=EntryKind.TOP_UP, amount=amount, api_key_id=claim.api_key_id)
        await _credit(uow, account, entry, now, now)
        await uow.audit.record(
            AuditEntry(
                action=Action.GIFT_CARD_TOPPED_UP,
                api_key_id=claim.api_key_id,
                customer_id=account.customer_id,
                subject_id=account.id,
                details={"amount": amount, "currency": currency},
            )
        )
        return await balance_of(uow, account, now)

    return await write_once(uow, claim, add)


async def gift_card_balance(uow: UnitOfWork, gift_card_id: UUID, now: datetime) -> BalanceCodeView:
    async with uow:
        return await balance_of(uow, await _gift_card(uow, gift_card_id), now)


async def gift_card_history(
    uow: UnitOfWork, gift_card_id: UUID, limit: int, before: tuple[datetime, UUID] | None
) -> list[Entry]:
    """The card's ledger, newest first: issue, top-ups, payments, refunds, expiry."""
    async with uow:
        account = await _gift_card(uow, gift_card_id)
        return await uow.ledger.history(account.id, limit, before)


async def customer_wallets(
    uow: UnitOfWork, customer_id: str, now: datetime
) -> list[BalanceCodeView]:
    async with uow:
        return [
            await balance_of(uow, account, now) for account in await uow.ledger.wallets(customer_id)
        ]


# -- at redeem and rollback


@dataclass(frozen=True, slots=True)
class PlannedPayment:
    account: Account
    code: str
    takes: tuple[Take, ...]
    left_after: int

    @property
    def amount(self) -> int:
        return total(self.takes)

    def payment(self) -> Payment:
        return Payment(
            code=self.code,
            kind=self.account.kind,
            amount=self.amount,
            remaining_amount=self.left_after,
        )


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    payments: tuple[PlannedPayment, ...]
    # One verdict per code sent, in order; any invalid one refuses the redemption.
    verdicts: tuple[BalanceVerdict, ...]
    unknown: int

    @property
    def is_valid(self) -> bool:
        return all(verdict.valid for verdict in self.verdicts)

    @property
    def paid(self) -> int:
        return sum(payment.amount for payment in self.payments)


NO_PAYMENTS = PaymentPlan(payments=(), verdicts=(), unknown=0)


def _verdict(code: str, reason: Reason | None, amount: int = 0) -> BalanceVerdict:
    return BalanceVerdict(
        code=code,
        valid=reason is None,
        reason=reason,
        message=payment_message(reason),
        amount=amount,
    )


async def plan_payments(
    uow: UnitOfWork,
    codes: Sequence[str],
    *,
    customer_id: str | None,
    currency: str,
    due: int,
    now: datetime,
) -> PaymentPlan:
    """Inside the redeem's transaction: lock the codes' accounts (id order) and work out what
    each pays, in the order sent, towards due. Nothing is taken yet (record_payments does)."""
    keys = [normalise(code) for code in codes]
    found = await uow.ledger.by_code([k for k in set(keys) if is_well_formed(k)])
    locked = await uow.ledger.lock(account.id for account in found.values())
    accounts = {key: locked[account.id] for key, account in found.items()}
    lots = {account_id: tuple(await uow.ledger.open_lots(account_id)) for account_id in locked}
    return payment_plan(codes, accounts, lots, customer_id, currency, due, now)


def payment_plan(
    codes: Sequence[str],
    accounts: Mapping[str, Account],
    lots: Mapping[UUID, Sequence[Lot]],
    customer_id: str | None,
    currency: str,
    due: int,
    now: datetime,
) -> PaymentPlan:
    """What each balance code pays, in the order sent, towards due, from the accounts found by
    normalised code and their open lots: no I/O, and nothing taken (the caller's write does)."""
    verdicts: list[BalanceVerdict] = []
    payments: list[PlannedPayment] = []
    seen: set[str] = set()
    unknown = 0
    left = due
    for code in codes:
        key = normalise(code)
        if key in seen:
            verdicts.append(_verdict(code, Reason.DUPLICATE_CODE))
            continue
        seen.add(key)
        account = accounts.get(key) if is_well_formed(key) else None
        reason = payment_refusal(account, currency, customer_id, now)
        if account is None:
            unknown += 1
        if reason is None and account is not None:
            held = lots.get(account.id, ())
            holding = available(held, now)
            if holding == 0:
                reason = Reason.NO_BALANCE
            else:
                takes = plan_payment(held, left, now)
                left -= total(takes)
                payments.append(PlannedPayment(account, code, takes, holding - total(takes)))
                verdicts.append(_verdict(code, None, total(takes)))
                continue
        verdicts.append(_verdict(code, reason))
    return PaymentPlan(tuple(payments), tuple(verdicts), unknown)


async def record_payments(uow: UnitOfWork, plan: PaymentPlan, redemption_id: UUID) -> None:
    """Take what the plan says, with a payment entry per code naming the redemption."""
    for payment in plan.payments:
        if not payment.takes:
            continue
        await uow.ledger.debit(
            payment.account.id,
            NewEntry(kind=EntryKind.PAYMENT, amount=-payment.amount, redemption_id=redemption_id),
            payment.takes,
        )


async def wallet_of(uow: UnitOfWork, customer_id: str, currency: str) -> Account:
    """The customer's wallet in currency, made (with a drawn code) on first cashback."""
    wallet = await uow.ledger.wallet(customer_id, currency)
    if wallet is None:
        wallet = await _draw_code(uow, AccountKind.WALLET, currency, customer_id, None)
        if wallet is None:  # made by a concurrent redeem since the read
            wallet = await uow.ledger.wallet(customer_id, currency)
    assert wallet is not None, "the wallet exists now"
    return wallet


def cashback_credit(wallet: Account, amount: int, available_at: datetime) -> CashbackCredit:
    assert wallet.code is not None, "a wallet has a code"
    return CashbackCredit(wallet_code=wallet.code, amount=amount, available_at=available_at)


async def credit_cashback(
    uow: UnitOfWork,
    wallet: Account,
    amount: int,
    *,
    redemption_id: UUID,
    available_at: datetime,
    now: datetime,
) -> None:
    """Credit the wallet, pending until available_at (the return window). Only appends (no
    lock), so it never waits on a payment from the same wallet."""
    entry = NewEntry(kind=EntryKind.CASHBACK, amount=amount, redemption_id=redemption_id)
    await _credit(uow, wallet, entry, available_at, now)


_BALANCE_KINDS = frozenset({EntryKind.PAYMENT, EntryKind.REFUND, EntryKind.CASHBACK})


@dataclass(frozen=True, slots=True)
class GivenBack:
    """What a rollback or a return gave back to balances."""

    refunds: tuple[BalanceRefund, ...] = ()
    cashback_reversed: int = 0

    @property
    def refunded_amount(self) -> int:
        return sum(refund.amount for refund in self.refunds)


NOTHING_GIVEN_BACK = GivenBack()


async def give_back_balances(
    uow: UnitOfWork,
    redemption_id: UUID,
    now: datetime,
    api_key_id: UUID | None = None,
    *,
    kept: tuple[int, int] | None = None,
    paid_in_order: Sequence[str] = (),
) -> GivenBack:
    """Inside a rollback's (kept None) or a return's transaction: refund what the payments
    still hold into the lots they took it from, and take back the cashback still credited
    (from its own lot first; what was spent since is forgiven, and the entry says so). A
    return keeps (total, cashback): the payments keep paying up to the order's new total,
    what they paid beyond it comes back, the last payment first (domain/returns.py); the
    cashback beyond the new one is taken back. paid_in_order: the balance codes as they paid
    (the redemption's answer says; one statement's payment entries share one time)."""
    entries = await uow.ledger.for_redemption(redemption_id)
    cashback_ids = {str(e.id) for e in entries if e.kind is EntryKind.CASHBACK}
    # The balance codes' entries only: the order's points reversals name the redemption too,
    # and points accounts are locked after gift cards and wallets, never with them.
    entries = [
        e
        for e in entries
        if e.kind in _BALANCE_KINDS
        or (e.kind is EntryKind.REVERSE and e.details.get("reverses") in cashback_ids)
    ]
    if not entries:
        return NOTHING_GIVEN_BACK
    accounts = await uow.ledger.lock(e.account_id for e in entries)
    order = {normalise(code): position for position, code in enumerate(paid_in_order)}

    def paid_as(entry: Entry) -> int:
        code = accounts[entry.account_id].code
        return order.get(normalise(code or ""), len(order))

    payments = sorted((e for e in entries if e.kind is EntryKind.PAYMENT), key=paid_as)
    refunds = [e for e in entries if e.kind is EntryKind.REFUND]
    allocations = await uow.ledger.allocations([e.id for e in [*payments, *refunds]])
    held = paid_lots(payments, refunds, allocations)
    if kept is not None:  # a part comes back: into the lots that keep it spendable longest
        held = in_refund_order(held, await uow.ledger.lots([lot.lot_id for lot in held]), now)
    back = balance_refunds(held, 0 if kept is None else kept[0])
    given: list[BalanceRefund] = []
    for payment in payments:
        takes = back.get(payment.id)
        if not takes:
            continue
        refund = NewEntry(
            kind=EntryKind.REFUND,
            amount=sum(take.amount for take in takes),
            redemption_id=redemption_id,
            api_key_id=api_key_id,
            details={"refunds": str(payment.id)},
        )
        await uow.ledger.credit(payment.account_id, refund, now, back_into=takes)
        account = accounts[payment.account_id]
        assert account.code is not None, "gift cards and wallets have codes"
        given.append(BalanceRefund(account.code, account.kind, refund.amount))
    cashbacks = [e for e in entries if e.kind is EntryKind.CASHBACK]
    own_lots = await uow.ledger.lots_of_entries([e.id for e in cashbacks])
    cashback_reversed = 0
    for cashback in cashbacks:
        before = sum(
            taken_back(e)
            for e in entries
            if e.kind is EntryKind.REVERSE and e.details.get("reverses") == str(cashback.id)
        )
        left = cashback.amount - before
        amount = left if kept is None else max(0, left - kept[1])
        if amount <= 0:
            continue
        await reverse_credit(
            uow,
            accounts[cashback.account_id],
            cashback,
            own_lots[cashback.id],
            now,
            allow_debt=False,
            redemption_id=redemption_id,
            api_key_id=api_key_id,
            amount=amount,
            completes=amount == left,
        )
        cashback_reversed += amount
    return GivenBack(tuple(given), cashback_reversed)


async def credit_wallet(
    uow: UnitOfWork,
    customer_id: str,
    currency: str,
    amount: int,
    now: datetime,
    *,
    reason: str,
    details: Mapping[str, object],
) -> Entry:
    """Money into the customer's wallet in currency (made on first use), spendable now."""
    wallet = await wallet_of(uow, customer_id, currency)
    entry = NewEntry(kind=EntryKind.TOP_UP, amount=amount, reason=reason, details=details)
    return await _credit(uow, wallet, entry, now, now)
