"""Balances as lots (domain/ledger.py): accounts, lots, append-only entries and the allocations
that say which lots each debit took.

Concurrency: every change to an account's lots happens after `lock()` took the account's row
(several accounts: in id order, the order every writer uses), so the lots a use case read are
the lots it changes. Taking from a lot is still a conditional UPDATE and the CHECK on
`remaining` is the last line: a bug can fail a request, never overdraw a balance.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import BalanceAccount as AccountRow
from app.db.models import LedgerAllocation, LedgerLot
from app.db.models import LedgerEntry as EntryRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    EntryKind,
    Lot,
    NewEntry,
    NewLot,
    Summary,
    Take,
)


@dataclass(frozen=True, slots=True)
class Expired:
    account_id: UUID
    amount: int
    takes: tuple[Take, ...]


_ACCOUNT_COLUMNS = (
    AccountRow.id,
    AccountRow.kind,
    AccountRow.program_id,
    AccountRow.customer_id,
    AccountRow.currency,
    AccountRow.code,
    AccountRow.debt,
    AccountRow.expires_at,
    AccountRow.created_at,
)
_ENTRY_COLUMNS = (
    EntryRow.id,
    EntryRow.account_id,
    EntryRow.kind,
    EntryRow.amount,
    EntryRow.order_id,
    EntryRow.redemption_id,
    EntryRow.reward_id,
    EntryRow.code_id,
    EntryRow.api_key_id,
    EntryRow.reason,
    EntryRow.details,
    EntryRow.created_at,
)
_LOT_COLUMNS = (
    LedgerLot.id,
    LedgerLot.remaining,
    LedgerLot.available_at,
    LedgerLot.expires_at,
    LedgerLot.created_at,
)


def account_of(row: Any) -> Account:
    return Account(
        id=row.id,
        kind=AccountKind(row.kind),
        program_id=row.program_id,
        customer_id=row.customer_id,
        currency=row.currency,
        code=row.code,
        debt=row.debt,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def _entry(row: Any) -> Entry:
    return Entry(
        id=row.id,
        account_id=row.account_id,
        kind=EntryKind(row.kind),
        amount=row.amount,
        order_id=row.order_id,
        redemption_id=row.redemption_id,
        reward_id=row.reward_id,
        code_id=row.code_id,
        api_key_id=row.api_key_id,
        reason=row.reason,
        details=row.details,
        created_at=row.created_at,
    )


def _lot(row: Any) -> Lot:
    return Lot(
        id=row.id,
        remaining=row.remaining,
        available_at=row.available_at,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def summary_sql(account_id: str, now: str, soon: str) -> str:
    """One row summing every lot of one account at `now`, with the given SQL placeholders.
    'Expiring' is what will be lost by `soon` unless spent (pending lots expire too)."""
    return f"""
SELECT
  CAST(coalesce(sum(remaining) FILTER (WHERE live AND available_at <= {now}), 0) AS bigint)
    AS available,
  CAST(coalesce(sum(remaining) FILTER (WHERE live AND available_at > {now}), 0) AS bigint)
    AS pending,
  CAST(coalesce(sum(remaining) FILTER (WHERE live AND expires_at <= {soon}), 0) AS bigint)
    AS expiring,
  CAST(coalesce(sum(amount - taken_back) FILTER (WHERE earned), 0) AS bigint)
    AS lifetime_earned,
  CAST(coalesce(sum(amount - taken_back) FILTER (
    WHERE earned AND created_at > {now} - interval '12 months'), 0) AS bigint)
    AS earned_last_12_months
FROM (
  SELECT remaining, amount, taken_back, available_at, expires_at, created_at,
         remaining > 0 AND (expires_at IS NULL OR expires_at > {now}) AS live,
         source = 'earn' AND reversed_at IS NULL AS earned
  FROM ledger_lots WHERE account_id = {account_id}
) AS lot
"""


def summary_of(row: Any) -> Summary:
    return Summary(
        available=row.available,
        pending=row.pending,
        expiring=row.expiring,
        lifetime_earned=row.lifetime_earned,
        earned_last_12_months=row.earned_last_12_months,
    )


_SUMMARY = text(summary_sql(":account_id", ":now", ":soon")).bindparams(
    bindparam("now", type_=AccountRow.created_at.type),
    bindparam("soon", type_=AccountRow.created_at.type),
)

_ENTRY_RETURNED = ", ".join(column.name for column in _ENTRY_COLUMNS)

_ENTRY_INSERT = f"""
entry AS (
    INSERT INTO ledger_entries (
        account_id, kind, amount, order_id, redemption_id, reward_id, code_id, api_key_id,
        reason, details
    )
    VALUES (
        :account_id, :kind, :amount, :order_id, :redemption_id, :reward_id, :code_id,
        :api_key_id, :reason, :details
    )
    RETURNING {_ENTRY_RETURNED}
)"""

# The takes of one debit (or the amounts one refund puts back), as rows.
_TAKES = "unnest(CAST(:lot_ids AS uuid[]), CAST(:amounts AS bigint[])) AS t(lot_id, amount)"

# A debit: each planned amount from its lot (of this account, if it still holds it), the entry,
# and where it came from. A lot that no longer holds its take fails the whole statement.
_DEBIT = text(
    f"""
WITH took AS (
    UPDATE ledger_lots AS lot SET remaining = lot.remaining - t.amount
    FROM {_TAKES}
    WHERE lot.id = t.lot_id AND lot.account_id = :account_id AND lot.remaining >= t.amount
    RETURNING lot.id
),
{_ENTRY_INSERT},
allocated AS (
    INSERT INTO ledger_allocations (entry_id, lot_id, amount)
    SELECT entry.id, t.lot_id, t.amount FROM entry, {_TAKES}
)
SELECT {_ENTRY_RETURNED},
    CASE WHEN (SELECT count(*) FROM took) < cardinality(CAST(:lot_ids AS uuid[]))
        THEN tessera_refuse('a lot changed under a locked account') ELSE true END AS whole
FROM entry
"""
).bindparams(bindparam("details", type_=JSONB))

# A credit: the entry, the lot it opens (if any), and the amounts it puts back into the lots
# they were taken from (a refund), each recorded as an allocation.
_CREDIT = text(
    f"""
WITH {_ENTRY_INSERT},
lot AS (
    INSERT INTO ledger_lots (
        account_id, entry_id, source, amount, remaining, available_at, expires_at, created_at
    )
    SELECT :account_id, entry.id, :kind, :lot_amount, :lot_remaining, :lot_available_at,
           :lot_expires_at, :now
    FROM entry WHERE :opens_lot
),
given_back AS (
    UPDATE ledger_lots AS lot SET remaining = lot.remaining + t.amount
    FROM {_TAKES}
    WHERE lot.id = t.lot_id AND lot.account_id = :account_id
),
allocated AS (
    INSERT INTO ledger_allocations (entry_id, lot_id, amount)
    SELECT entry.id, t.lot_id, t.amount FROM entry, {_TAKES}
)
SELECT {_ENTRY_RETURNED} FROM entry
"""
).bindparams(bindparam("details", type_=JSONB))


def _entry_parameters(account_id: UUID, entry: NewEntry, takes: Sequence[Take]) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "kind": entry.kind.value,
        "amount": entry.amount,
        "order_id": entry.order_id,
        "redemption_id": entry.redemption_id,
        "reward_id": entry.reward_id,
        "code_id": entry.code_id,
        "api_key_id": entry.api_key_id,
        "reason": entry.reason,
        "details": dict(entry.details or {}),
        "lot_ids": [take.lot_id for take in takes],
        "amounts": [take.amount for take in takes],
    }


# Accounts with lots past their expiry, locked in id order (a batch at a time).
_LOCK_EXPIRING = text(
    """
SELECT id FROM balance_accounts
WHERE id IN (
  SELECT DISTINCT account_id FROM ledger_lots
  WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= :now
  ORDER BY account_id LIMIT :batch
)
ORDER BY id
FOR UPDATE
"""
).bindparams(bindparam("now", type_=AccountRow.created_at.type))


# A points.expiring event per member whose spendable points (lots not announced before)
# expire between :now and :until, and the lots marked announced; one statement, so a lot is
# announced once even by runs at the same time (the second waits on the row and finds it
# marked).
_ANNOUNCE_EXPIRING = text(
    """
WITH due AS (
    UPDATE ledger_lots AS lot SET expiry_noticed_at = :now
    FROM balance_accounts AS a
    WHERE a.id = lot.account_id AND a.kind = 'points'
      AND lot.remaining > 0 AND lot.expiry_noticed_at IS NULL
      AND lot.expires_at > :now AND lot.expires_at <= :until
    RETURNING lot.account_id, lot.remaining, lot.expires_at, a.program_id, a.customer_id
),
announced AS (
    INSERT INTO events (type, subject_id, payload)
    SELECT 'points.expiring', account_id, jsonb_build_object(
        'account_id', account_id, 'program_id', program_id, 'customer_id', customer_id,
        'points', sum(remaining), 'first_expires_at', min(expires_at),
        'last_expires_at', max(expires_at)
    )
    FROM due GROUP BY account_id, program_id, customer_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM announced) AS accounts,
       (SELECT coalesce(sum(remaining), 0) FROM due) AS points
"""
).bindparams(
    bindparam("now", type_=AccountRow.created_at.type),
    bindparam("until", type_=AccountRow.created_at.type),
)


class LedgerRepository(Repository):
    # -- accounts

    async def member(self, program_id: UUID, customer_id: str) -> Account | None:
        stmt = select(*_ACCOUNT_COLUMNS).where(
            AccountRow.kind == AccountKind.POINTS.value,
            AccountRow.program_id == program_id,
            AccountRow.customer_id == customer_id,
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else account_of(row)

    async def ensure_member(self, program_id: UUID, customer_id: str) -> UUID:
        """The member's points account, made on first use (racing makers get the same one)."""
        await self.session.execute(
            pg_insert(AccountRow)
            .values(kind=AccountKind.POINTS.value, program_id=program_id, customer_id=customer_id)
            .on_conflict_do_nothing(
                index_elements=[AccountRow.program_id, AccountRow.customer_id],
                index_where=text("kind = 'points'"),
            )
        )
        account = await self.member(program_id, customer_id)
        assert account is not None, "just made"
        return account.id

    async def wallet(self, customer_id: str, currency: str) -> Account | None:
        stmt = select(*_ACCOUNT_COLUMNS).where(
            AccountRow.kind == AccountKind.WALLET.value,
            AccountRow.customer_id == customer_id,
            AccountRow.currency == currency,
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else account_of(row)

    async def wallets(self, customer_id: str) -> list[Account]:
        stmt = (
            select(*_ACCOUNT_COLUMNS)
            .where(
                AccountRow.kind == AccountKind.WALLET.value,
                AccountRow.customer_id == customer_id,
            )
            .order_by(AccountRow.currency)
        )
        return [account_of(row) for row in await self.session.execute(stmt)]

    async def insert_balance_code(
        self,
        *,
        kind: AccountKind,
        code: str,
        normalised_code: str,
        currency: str,
        customer_id: str | None,
        expires_at: datetime | None,
    ) -> Account | None:
        """A new gift card or wallet. DuplicateKeyError when the code is taken; None when the
        customer already has a wallet in that currency."""
        stmt = (
            pg_insert(AccountRow)
            .values(
                kind=kind.value,
                code=code,
                normalised_code=normalised_code,
                currency=currency,
                customer_id=customer_id,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(
                index_elements=[AccountRow.customer_id, AccountRow.currency],
                index_where=text("kind = 'wallet'"),
            )
            .returning(*_ACCOUNT_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else account_of(row)

    async def get(self, account_id: UUID) -> Account | None:
        row = (
            await self.session.execute(select(*_ACCOUNT_COLUMNS).where(AccountRow.id == account_id))
        ).one_or_none()
        return None if row is None else account_of(row)

    async def by_code(self, normalised_codes: Sequence[str]) -> dict[str, Account]:
        """Gift cards and wallets by normalised code."""
        if not normalised_codes:
            return {}
        stmt = select(*_ACCOUNT_COLUMNS, AccountRow.normalised_code).where(
            AccountRow.normalised_code.in_(list(normalised_codes))
        )
        return {row.normalised_code: account_of(row) for row in await self.session.execute(stmt)}

    async def lock(self, account_ids: Iterable[UUID]) -> dict[UUID, Account]:
        """Lock the accounts' rows, in id order, until the transaction ends."""
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        stmt = (
            select(*_ACCOUNT_COLUMNS)
            .where(AccountRow.id.in_(ids))
            .order_by(AccountRow.id)
            .with_for_update()
        )
        return {row.id: account_of(row) for row in await self.session.execute(stmt)}

    async def set_debt(self, account_id: UUID, debt: int) -> None:
        await self.session.execute(
            update(AccountRow).where(AccountRow.id == account_id).values(debt=debt)
        )

    # -- lots

    async def open_lots(self, account_id: UUID) -> list[Lot]:
        """The account's lots with something left (expired ones included: callers decide)."""
        stmt = select(*_LOT_COLUMNS).where(
            LedgerLot.account_id == account_id, LedgerLot.remaining > 0
        )
        return [_lot(row) for row in await self.session.execute(stmt)]

    async def lots(self, lot_ids: Sequence[UUID]) -> dict[UUID, Lot]:
        """These lots, by id (whatever is left of them)."""
        if not lot_ids:
            return {}
        stmt = select(*_LOT_COLUMNS).where(LedgerLot.id.in_(list(lot_ids)))
        return {lot.id: lot for lot in map(_lot, await self.session.execute(stmt))}

    async def mark_reversed(self, lot_ids: Sequence[UUID], now: datetime) -> None:
        """The lots' credit was taken back: they no longer count towards tiers."""
        if lot_ids:
            await self.session.execute(
                update(LedgerLot).where(LedgerLot.id.in_(list(lot_ids))).values(reversed_at=now)
            )

    async def take_back(self, lot_ids: Sequence[UUID], amount: int) -> None:
        """Part of a credit was taken back (a partial return): its lot (a credit opens one)
        counts that much less towards tiers."""
        if lot_ids:
            await self.session.execute(
                update(LedgerLot)
                .where(LedgerLot.id == lot_ids[0])
                .values(taken_back=func.least(LedgerLot.amount, LedgerLot.taken_back + amount))
            )

    async def lots_of_entries(self, entry_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        """The lots each credit entry made, by entry id."""
        found: dict[UUID, list[UUID]] = {entry_id: [] for entry_id in entry_ids}
        if entry_ids:
            stmt = select(LedgerLot.entry_id, LedgerLot.id).where(
                LedgerLot.entry_id.in_(list(entry_ids))
            )
            for row in await self.session.execute(stmt):
                found[row.entry_id].append(row.id)
        return found

    async def summary(self, account_id: UUID, now: datetime, soon: timedelta) -> Summary:
        params = {"account_id": account_id, "now": now, "soon": now + soon}
        return summary_of((await self.session.execute(_SUMMARY, params)).one())

    # -- entries

    async def debit(self, account_id: UUID, entry: NewEntry, takes: Sequence[Take]) -> Entry:
        """Take each planned amount from its lot, append the debit entry and record which lots
        paid it: one statement. The caller holds the account's lock and planned takes from its
        lots as they are (domain/ledger.py), so each lot still holds its take; if one does not,
        the statement fails and nothing is taken."""
        params = _entry_parameters(account_id, entry, takes)
        return _entry((await self.session.execute(_DEBIT, params)).one())

    async def credit(
        self,
        account_id: UUID,
        entry: NewEntry,
        now: datetime,
        *,
        lot: NewLot | None = None,
        back_into: Sequence[Take] = (),
    ) -> Entry:
        """Append the credit entry with the lot it opens, or put its amounts back into the lots
        they were taken from (a refund, recorded as allocations): one statement."""
        params = _entry_parameters(account_id, entry, back_into) | {
            "now": now,
            "opens_lot": lot is not None,
            "lot_amount": lot.amount if lot else None,
            "lot_remaining": lot.remaining if lot else None,
            "lot_available_at": lot.available_at if lot else None,
            "lot_expires_at": lot.expires_at if lot else None,
        }
        return _entry((await self.session.execute(_CREDIT, params)).one())

    async def allocations(self, entry_ids: Sequence[UUID]) -> dict[UUID, list[Take]]:
        found: dict[UUID, list[Take]] = {entry_id: [] for entry_id in entry_ids}
        if entry_ids:
            stmt = (
                select(LedgerAllocation.entry_id, LedgerAllocation.lot_id, LedgerAllocation.amount)
                .where(LedgerAllocation.entry_id.in_(list(entry_ids)))
                .order_by(LedgerAllocation.entry_id, LedgerAllocation.lot_id)
            )
            for row in await self.session.execute(stmt):
                found[row.entry_id].append(Take(row.lot_id, row.amount))
        return found

    async def earned(self, account_id: UUID, order_id: str) -> Entry | None:
        stmt = select(*_ENTRY_COLUMNS).where(
            EntryRow.account_id == account_id,
            EntryRow.kind == EntryKind.EARN.value,
            EntryRow.order_id == order_id,
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else _entry(row)

    async def earns_for_order(self, order_id: str, program_id: UUID | None) -> list[Entry]:
        """The earn entries of an order (in one program, or in all)."""
        stmt = select(*_ENTRY_COLUMNS).where(
            EntryRow.kind == EntryKind.EARN.value, EntryRow.order_id == order_id
        )
        if program_id is not None:
            stmt = stmt.join(AccountRow, AccountRow.id == EntryRow.account_id).where(
                AccountRow.program_id == program_id
            )
        return [_entry(row) for row in await self.session.execute(stmt)]

    async def reversed_amounts(
        self, account_id: UUID, entry_ids: Sequence[UUID]
    ) -> dict[UUID, int]:
        """How much of each of these credit entries was taken back so far (its reverse
        entries' details.reverses; taken, made debt or forgiven alike)."""
        if not entry_ids:
            return {}
        reverses = EntryRow.details["reverses"].astext
        part = EntryRow.details
        stmt = (
            select(
                reverses,
                func.sum(
                    part["taken"].astext.cast(BigInteger)
                    + part["debt_added"].astext.cast(BigInteger)
                    + part["forgiven"].astext.cast(BigInteger)
                ),
            )
            .where(
                EntryRow.account_id == account_id,
                EntryRow.kind == EntryKind.REVERSE.value,
                reverses.in_([str(e) for e in entry_ids]),
            )
            .group_by(reverses)
        )
        return {UUID(value): int(total) for value, total in await self.session.execute(stmt)}

    async def for_redemption(self, redemption_id: UUID) -> list[Entry]:
        stmt = (
            select(*_ENTRY_COLUMNS)
            .where(EntryRow.redemption_id == redemption_id)
            .order_by(EntryRow.created_at, EntryRow.id)
        )
        return [_entry(row) for row in await self.session.execute(stmt)]

    async def history(
        self, account_id: UUID, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[Entry]:
        """Newest first."""
        stmt = (
            select(*_ENTRY_COLUMNS)
            .where(EntryRow.account_id == account_id)
            .order_by(EntryRow.created_at.desc(), EntryRow.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(tuple_(EntryRow.created_at, EntryRow.id) < tuple_(*before))
        return [_entry(row) for row in await self.session.execute(stmt)]

    # -- expiry

    async def announce_expiring(self, now: datetime, until: datetime) -> tuple[int, int]:
        """Announce the points expiring by until that were not announced: (members, points)."""
        row = (await self.session.execute(_ANNOUNCE_EXPIRING, {"now": now, "until": until})).one()
        return int(row.accounts), int(row.points)

    async def expire_batch(self, now: datetime, batch: int) -> list[Expired]:
        """Empty the lots past their expiry in up to `batch` accounts (locked first, so a
        concurrent run or spend waits, then finds nothing left to expire), writing one expire
        entry per account with the lots it emptied. An empty list: nothing (more) to do."""
        params = {"now": now, "batch": batch}
        account_ids = list((await self.session.execute(_LOCK_EXPIRING, params)).scalars())
        if not account_ids:
            return []
        stmt = (
            select(LedgerLot.account_id, LedgerLot.id, LedgerLot.remaining)
            .where(
                LedgerLot.account_id.in_(account_ids),
                LedgerLot.remaining > 0,
                LedgerLot.expires_at <= now,
            )
            .order_by(LedgerLot.account_id, LedgerLot.id)
        )
        by_account: dict[UUID, list[Take]] = {}
        for row in await self.session.execute(stmt):
            by_account.setdefault(row.account_id, []).append(Take(row.id, row.remaining))
        expired = [
            Expired(account_id, sum(t.amount for t in takes), tuple(takes))
            for account_id, takes in by_account.items()
        ]
        for item in expired:
            entry = NewEntry(kind=EntryKind.EXPIRE, amount=-item.amount)
            await self.debit(item.account_id, entry, item.takes)
        return expired
