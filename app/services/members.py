"""Loyalty members: their balance and history, earning points on orders, taking an order's
points back when it is rolled back or returned, and support's adjustments. Every change is a
ledger entry (db/repositories/ledger.py), made under the member's account lock, so a balance can
never be spent twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypedDict, cast
from uuid import UUID

from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.ledger import (
    Account,
    Entry,
    EntryKind,
    NewEntry,
    NewLot,
    Summary,
    available,
    credit_against_debt,
    spendable,
    take_up_to,
    total,
)
from app.domain.loyalty import (
    MAX_POINTS_PER_CREDIT,
    Program,
    ProgramStatus,
    Tier,
    TierBasis,
    points_for,
    standing,
)
from app.domain.returns import ReturnedShare, share_to_take_back
from app.services.errors import (
    CurrencyMismatch,
    InsufficientPoints,
    OrderAlreadyEarned,
    PointsLimitExceeded,
    ProgramArchived,
    ProgramNotFound,
)
from app.services.idempotency import IdempotencyClaim, Written, write_once
from app.services.ledger import reverse_credit
from app.services.loyalty import find_program
from app.services.rendering import timestamp

# "Points expiring soon" looks this far ahead.
EXPIRING_WINDOW = timedelta(days=30)


# -- balances


def qualifying_points(program: Program, summary: Summary) -> int:
    if program.tier_basis is TierBasis.ROLLING_12_MONTHS:
        return summary.earned_last_12_months
    return summary.lifetime_earned


@dataclass(frozen=True, slots=True)
class MemberBalance:
    """A member's points now, and where they stand among the tiers."""

    program_id: UUID
    customer_id: str
    available_points: int
    pending_points: int
    expiring_points: int
    expiring_before: datetime
    lifetime_points: int
    qualifying_points: int
    tier: Tier | None
    next_tier: Tier | None
    points_to_next_tier: int | None


def balance_of(
    program: Program, customer_id: str, summary: Summary, debt: int, now: datetime
) -> MemberBalance:
    qualifying = qualifying_points(program, summary)
    place = standing(program.tiers, qualifying)
    return MemberBalance(
        program_id=program.id,
        customer_id=customer_id,
        available_points=summary.available - debt,
        pending_points=summary.pending,
        expiring_points=summary.expiring,
        expiring_before=now + EXPIRING_WINDOW,
        lifetime_points=summary.lifetime_earned,
        qualifying_points=qualifying,
        tier=place.tier,
        next_tier=place.next_tier,
        points_to_next_tier=place.points_to_next_tier,
    )


_EMPTY = Summary(available=0, pending=0, expiring=0, lifetime_earned=0, earned_last_12_months=0)


async def balance_now(
    uow: UnitOfWork, program: Program, customer_id: str, account: Account | None, now: datetime
) -> MemberBalance:
    if account is None:
        return balance_of(program, customer_id, _EMPTY, 0, now)
    summary = await uow.ledger.summary(account.id, now, EXPIRING_WINDOW)
    return balance_of(program, customer_id, summary, account.debt, now)


async def member_balance(
    reads: StatementUnitOfWork, program_id: UUID, customer_id: str, now: datetime
) -> MemberBalance:
    """A member's points now, in one statement (shops show it on every page). A customer who
    never earned has an empty balance, not a 404."""
    async with reads:
        found = await reads.checkout.member_balance(program_id, customer_id, now, EXPIRING_WINDOW)
    if found is None:
        raise ProgramNotFound(f"No loyalty program has id {program_id}.")
    program, summary, debt = found
    return balance_of(program, customer_id, summary, debt, now)


async def member_history(
    uow: UnitOfWork,
    program_id: UUID,
    customer_id: str,
    limit: int,
    before: tuple[datetime, UUID] | None,
) -> list[Entry]:
    async with uow:
        await find_program(uow, program_id)
        account = await uow.ledger.member(program_id, customer_id)
        if account is None:
            return []
        return await uow.ledger.history(account.id, limit, before)


# -- earning and reversing


class _EarnDetails(TypedDict):
    amount: int
    currency: str
    multiplier_percent: int
    tier: str | None
    available_at: str
    expires_at: str | None


@dataclass(frozen=True, slots=True)
class Earned:
    """The points an order earned, and the member's balance after."""

    entry_id: UUID
    order_id: str
    customer_id: str
    points: int
    amount: int
    multiplier_percent: int
    available_at: datetime
    expires_at: datetime | None
    created_at: datetime
    balance: MemberBalance

    @classmethod
    def of(cls, entry: Entry, customer_id: str, balance: MemberBalance) -> "Earned":
        """From the order's earn entry, which keeps what the order paid and its terms."""
        assert entry.order_id is not None, "an earn entry names its order"
        # The details as earn() wrote them.
        details = cast(_EarnDetails, entry.details)
        expires_at = details["expires_at"]
        return cls(
            entry_id=entry.id,
            order_id=entry.order_id,
            customer_id=customer_id,
            points=entry.amount,
            amount=details["amount"],
            multiplier_percent=details["multiplier_percent"],
            available_at=datetime.fromisoformat(details["available_at"]),
            expires_at=None if expires_at is None else datetime.fromisoformat(expires_at),
            created_at=entry.created_at,
            balance=balance,
        )


async def earn(
    uow: UnitOfWork,
    program_id: UUID,
    *,
    customer_id: str,
    order_id: str,
    amount: int,
    currency: str,
    api_key_id: UUID,
    now: datetime,
) -> Written[Earned]:
    """Points for an order paid amount: the program's rate times the member's tier multiplier
    (tier as it stood before this order), pending until the return window passes. Once per
    order and program: the same order again returns the first answer; with another amount it
    is refused."""
    async with uow:
        program = await find_program(uow, program_id)
        if program.status is ProgramStatus.ARCHIVED:
            raise ProgramArchived(f"Loyalty program {program_id} is archived.")
        if currency != program.currency:
            raise CurrencyMismatch(
                f"The program earns on {program.currency} amounts, not {currency}.",
                fields=["currency"],
            )
        account_id = await uow.ledger.ensure_member(program_id, customer_id)
        account = (await uow.ledger.lock([account_id]))[account_id]
        existing = await uow.ledger.earned(account_id, order_id)
        if existing is not None:
            if existing.details.get("amount") != amount:
                raise OrderAlreadyEarned(
                    f"Order {order_id} already earned points on an amount of "
                    f"{existing.details.get('amount')}; it earns once.",
                    entry_id=str(existing.id),
                )
            balance = await balance_now(uow, program, customer_id, account, now)
            return Written(Earned.of(existing, customer_id, balance), replayed=True)

        before = await uow.ledger.summary(account_id, now, EXPIRING_WINDOW)
        tier = standing(program.tiers, qualifying_points(program, before)).tier
        multiplier = tier.multiplier_percent if tier else 100
        points = points_for(amount, program.earn_rate, multiplier)
        if points > MAX_POINTS_PER_CREDIT:
            raise PointsLimitExceeded(
                f"The order would earn {points} points; one earn may credit at most "
                f"{MAX_POINTS_PER_CREDIT}.",
                fields=["amount"],
            )
        available_at = program.available_from(now)
        entry, debt = await _credit_points(
            uow,
            account,
            program,
            NewEntry(
                kind=EntryKind.EARN,
                amount=points,
                order_id=order_id,
                api_key_id=api_key_id,
                details={
                    "amount": amount,
                    "currency": currency,
                    "multiplier_percent": multiplier,
                    "tier": tier.key if tier else None,
                    "available_at": timestamp(available_at),
                    "expires_at": timestamp(program.expiry_of(now)),
                },
            ),
            available_at=available_at,
            now=now,
        )
        balance = await balance_now(uow, program, customer_id, replace(account, debt=debt), now)
        await uow.commit()
    return Written(Earned.of(entry, customer_id, balance))


async def _credit_points(
    uow: UnitOfWork,
    account: Account,
    program: Program,
    entry: NewEntry,
    *,
    available_at: datetime,
    now: datetime,
) -> tuple[Entry, int]:
    """Append a credit (earn, or a positive adjustment) to a locked member's account, with
    its lot expiring as the program says. A debt is paid from it first (the entry's details
    say how much) and the lot keeps the rest; the lot exists even when the debt took it all,
    since earned points count towards tiers. Returns the entry and the debt left."""
    credit = credit_against_debt(entry.amount, account.debt)
    lot = NewLot(entry.amount, credit.lot_amount, available_at, program.expiry_of(now))
    written = await uow.ledger.credit(
        account.id,
        replace(entry, details={**(entry.details or {}), "debt_paid": credit.debt_paid}),
        now,
        lot=lot if entry.amount > 0 else None,
    )
    debt = account.debt - credit.debt_paid
    if credit.debt_paid:
        await uow.ledger.set_debt(account.id, debt)
    return written, debt


async def reverse_order_points(
    uow: UnitOfWork,
    order_id: str,
    now: datetime,
    *,
    program_id: UUID | None = None,
    redemption_id: UUID | None = None,
    api_key_id: UUID | None = None,
    returned: ReturnedShare | None = None,
) -> list[Entry]:
    """Inside the caller's transaction: take back what the order earned, in every program (or
    one): all that is left of it, or with returned (a partial return) the share of what is
    left that the return refunded (domain/returns.share_to_take_back). Taken first
    from the order's own lot (pending or not), then other pending points, then available ones
    soonest to expire first; what is still missing becomes debt if the program allows a
    negative balance, and is forgiven otherwise (the entry says which)."""
    earns = await uow.ledger.earns_for_order(order_id, program_id)
    if not earns:
        return []
    accounts = await uow.ledger.lock(e.account_id for e in earns)
    own_lots = await uow.ledger.lots_of_entries([e.id for e in earns])
    reversals: list[Entry] = []
    for earned in sorted(earns, key=lambda e: e.account_id):
        account = accounts[earned.account_id]
        before = (await uow.ledger.reversed_amounts(account.id, [earned.id])).get(earned.id, 0)
        left = earned.amount - before
        amount = left if returned is None else share_to_take_back(left, returned)
        if amount <= 0:
            continue
        assert account.program_id is not None, "earn entries belong to points accounts"
        program = await find_program(uow, account.program_id)
        entry = await reverse_credit(
            uow,
            account,
            earned,
            own_lots[earned.id],
            now,
            allow_debt=program.allow_negative_balance,
            order_id=order_id,
            redemption_id=redemption_id,
            api_key_id=api_key_id,
            amount=amount,
            completes=before + amount >= earned.amount,
        )
        reversals.append(entry)
    return reversals


async def reverse_order(
    uow: UnitOfWork, program_id: UUID, order_id: str, api_key_id: UUID, now: datetime
) -> list[Entry]:
    """An order returned without a redemption to roll back: take its points back, once."""
    async with uow:
        await find_program(uow, program_id)
        entries = await reverse_order_points(
            uow, order_id, now, program_id=program_id, api_key_id=api_key_id
        )
        await uow.commit()
    return entries


def insufficient_points(available: int, wanted: int) -> InsufficientPoints:
    return InsufficientPoints(
        f"{wanted} points are needed and {max(available, 0)} are available.",
        available_points=available,
        needed_points=wanted,
    )


async def locked_member(
    uow: UnitOfWork, program: Program, customer_id: str, *, create: bool
) -> Account | None:
    if create:
        account_id = await uow.ledger.ensure_member(program.id, customer_id)
    else:
        found = await uow.ledger.member(program.id, customer_id)
        if found is None:
            return None
        account_id = found.id
    return (await uow.ledger.lock([account_id]))[account_id]


@dataclass(frozen=True, slots=True)
class Adjusted:
    """Support's change to a member's points, and the balance after."""

    entry_id: UUID
    points: int
    reason: str
    created_at: datetime
    balance: MemberBalance


async def adjust(
    uow: UnitOfWork,
    program_id: UUID,
    customer_id: str,
    *,
    points: int,
    reason: str,
    claim: IdempotencyClaim,
    now: datetime,
) -> Written[Adjusted]:
    """Support's correction: add points (available at once, expiring like earned ones; they do
    not count towards tiers) or remove available ones (soonest to expire first). Removing more
    than is available is refused unless the program allows a negative balance. Audited."""

    async def change() -> Adjusted:
        program = await find_program(uow, program_id)
        # Removing points from someone who has none only makes sense as debt.
        account = await locked_member(
            uow, program, customer_id, create=points > 0 or program.allow_negative_balance
        )
        if account is None:
            raise insufficient_points(0, -points)
        entry_terms = NewEntry(
            kind=EntryKind.ADJUST, amount=points, api_key_id=claim.api_key_id, reason=reason
        )
        if points > 0:
            entry, debt = await _credit_points(
                uow, account, program, entry_terms, available_at=now, now=now
            )
        else:
            wanted = -points
            lots = await uow.ledger.open_lots(account.id)
            points_left = available(lots, now) - account.debt
            if not program.allow_negative_balance and points_left < wanted:
                raise insufficient_points(points_left, wanted)
            takes = take_up_to(spendable(lots, now), wanted)
            missing = wanted - total(takes)
            entry = await uow.ledger.debit(
                account.id, replace(entry_terms, details={"debt_added": missing}), takes
            )
            debt = account.debt + missing
            if missing:
                await uow.ledger.set_debt(account.id, debt)
        await uow.audit.record(
            AuditEntry(
                action=Action.POINTS_ADJUSTED,
                api_key_id=claim.api_key_id,
                customer_id=customer_id,
                subject_id=program_id,
                reason=reason,
                details={"points": points, "entry_id": str(entry.id)},
            )
        )
        balance = await balance_now(uow, program, customer_id, replace(account, debt=debt), now)
        return Adjusted(entry.id, points, reason, entry.created_at, balance)

    return await write_once(uow, claim, change)


async def credit_points(
    uow: UnitOfWork,
    program_id: UUID,
    customer_id: str,
    points: int,
    now: datetime,
    *,
    reason: str,
    details: Mapping[str, object],
) -> Entry:
    """Points into the member's account (made on first use), spendable now, expiring as the
    program says: an adjustment the service makes itself (a referral reward)."""
    program = await find_program(uow, program_id)
    account = await locked_member(uow, program, customer_id, create=True)
    assert account is not None, "created when missing"
    entry, _ = await _credit_points(
        uow,
        account,
        program,
        NewEntry(kind=EntryKind.ADJUST, amount=points, reason=reason, details=details),
        available_at=now,
        now=now,
    )
    return entry
