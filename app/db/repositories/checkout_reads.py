"""The checkout's reads, each one statement on an autocommit connection
(db/uow.StatementUnitOfWork): authenticating a key, validate's key-plus-candidates lookup in a
single round trip (redeem's also finds the Idempotency-Key's stored answer), a redemption, and a
loyalty member's balance (shops show it on every page).

These run on every checkout request, so they skip SQLAlchemy's per-call work: each statement is
built with Core, rendered for asyncpg once at import, and sent straight to the driver, which
keeps it prepared per connection. Measured on validate: ~200 µs per lookup this way against
~600 µs through Connection.execute.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, String, Text, bindparam, cast, func, literal, select, true
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import Select

from app.db.driver import fetch
from app.db.mappers import Fields, promotion_from_row
from app.db.models import ApiKey as ApiKeyRow
from app.db.models import GuessFailure
from app.db.models import IdempotencyKey as IdempotencyKeyRow
from app.db.repositories.codes import candidates_statement
from app.db.repositories.guesses import RECORD_FAILURES, record_arguments, tallies
from app.db.repositories.idempotency import KEY_LIFETIME, StoredResponse
from app.db.repositories.ledger import account_of, summary_of, summary_sql
from app.db.repositories.loyalty import (
    PROGRAM_COLUMN_NAMES,
    REWARD_COLUMN_NAMES,
    program_from_row,
    reward_from_row,
)
from app.db.repositories.redemptions import RedemptionRecord, record_of
from app.domain.api_keys import ApiKey, Scope
from app.domain.guesses import UNADDRESSED_PREFIX, Subject, Tally
from app.domain.ledger import Account, Lot, Summary
from app.domain.loyalty import Program, Reward
from app.domain.rules import Promotion


class _Rendered:
    """A Core statement as asyncpg SQL plus the order of its parameters."""

    def __init__(self, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        self._constants = {name: bind.value for name, bind in compiled.binds.items()}

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[n] if n in values else self._constants[n] for n in self._order]


_ACTIVE_KEY = (
    select(
        ApiKeyRow.id.label("key_id"),
        ApiKeyRow.name.label("key_name"),
        ApiKeyRow.key_prefix.label("key_prefix"),
        ApiKeyRow.scopes.label("key_scopes"),
        ApiKeyRow.created_at.label("key_created_at"),
    )
    .where(ApiKeyRow.key_hash == bindparam("key_hash"), ApiKeyRow.revoked_at.is_(None))
    .subquery("api_key")
)
_AUTHENTICATE = _Rendered(select(_ACTIVE_KEY))

# Until when the request's customer or client address may not try codes (NULL: they may). A
# request naming no address uses the allowance its key's unaddressed requests share.
_BLOCKED_UNTIL = (
    select(func.max(GuessFailure.blocked_until))
    .where(
        GuessFailure.subject.in_(
            [
                bindparam("customer_subject", type_=String),
                func.coalesce(
                    bindparam("address_subject", type_=String),
                    literal(UNADDRESSED_PREFIX) + cast(_ACTIVE_KEY.c.key_id, Text),
                ),
            ]
        ),
        GuessFailure.blocked_until > bindparam("now", type_=DateTime(timezone=True)),
    )
    .scalar_subquery()
    .label("blocked_until")
)

# The key and the block alone: what validate reads on the primary while the replica reads the
# candidates.
_KEY_AND_BLOCK = _Rendered(select(_ACTIVE_KEY, _BLOCKED_UNTIL))

# One row per candidate, each carrying the key; a key with no candidates gives one row of nulls
# beside it, and an unknown or revoked key gives no row at all.
_CANDIDATES = candidates_statement().subquery("candidate")
_KEY_AND_CANDIDATES = _Rendered(
    select(_ACTIVE_KEY, _BLOCKED_UNTIL, _CANDIDATES).select_from(
        _ACTIVE_KEY.outerjoin(_CANDIDATES, true())
    )
)

# Qualifications' read: the same, with the codes a shopper may be offered in place of the
# requested ones.
_QUALIFYING = candidates_statement(qualifying=True).subquery("candidate")
_KEY_AND_QUALIFYING = _Rendered(
    select(_ACTIVE_KEY, _BLOCKED_UNTIL, _QUALIFYING).select_from(
        _ACTIVE_KEY.outerjoin(_QUALIFYING, true())
    )
)


# Redeem's read: the same, plus what an earlier request with the same Idempotency-Key stored
# (nothing when there was none, or it expired).
_STORED = (
    select(
        IdempotencyKeyRow.request_hash.label("stored_hash"),
        IdempotencyKeyRow.response_status.label("stored_status"),
        IdempotencyKeyRow.response_body.label("stored_body"),
    )
    .where(
        IdempotencyKeyRow.api_key_id == _ACTIVE_KEY.c.key_id,
        IdempotencyKeyRow.key == bindparam("idempotency_key", type_=String),
        IdempotencyKeyRow.created_at > bindparam("keys_alive_since", type_=DateTime(timezone=True)),
    )
    .lateral("stored")
)
_KEY_STORED_AND_CANDIDATES = _Rendered(
    select(_ACTIVE_KEY, _BLOCKED_UNTIL, _STORED, _CANDIDATES).select_from(
        _ACTIVE_KEY.outerjoin(_STORED, true()).outerjoin(_CANDIDATES, true())
    )
)


def _api_key(row: Fields) -> ApiKey:
    return ApiKey(
        id=row["key_id"],
        name=row["key_name"],
        key_prefix=row["key_prefix"],
        scopes=tuple(Scope(s) for s in row["key_scopes"]),
        created_at=row["key_created_at"],
        revoked_at=None,
    )


_STORED_ANSWER = """
SELECT request_hash, response_status, response_body FROM idempotency_keys
WHERE api_key_id = $1 AND key = $2 AND created_at > $3
"""
_LAPSED_HOLDS = """
SELECT id FROM redemptions WHERE status = 'held' AND expires_at <= $1
ORDER BY expires_at LIMIT $2
"""
_LAPSED_HOLDS_OF = """
SELECT r.id FROM redemptions AS r
WHERE r.status = 'held' AND r.expires_at <= $1
  AND EXISTS (
      SELECT FROM redemption_items AS i
      WHERE i.redemption_id = r.id
        AND (i.code_id = ANY($3::uuid[]) OR i.campaign_id = ANY($4::uuid[]))
  )
ORDER BY r.expires_at LIMIT $2
"""
_REDEMPTION = """
SELECT id, customer_id, order_id, status, result, created_at, rolled_back_at, expires_at,
       returned_quantities, CASE WHEN returned_quantities IS NOT NULL THEN lines END AS lines,
       subtotal_amount, discount_amount, shipping_amount, shipping_discount_amount,
       total_amount, cashback_amount
FROM redemptions WHERE id = $1
"""

# A program, the member's debt and the sums over the member's lots; a customer who never
# earned gets zeros (the lateral sums over no lots), an unknown program no row.
_MEMBER_BALANCE = f"""
SELECT {", ".join(f"p.{name}" for name in PROGRAM_COLUMN_NAMES)},
       coalesce(a.debt, 0) AS debt, s.*
FROM loyalty_programs AS p
LEFT JOIN balance_accounts AS a
  ON a.kind = 'points' AND a.program_id = p.id AND a.customer_id = $2
LEFT JOIN LATERAL ({summary_sql("a.id", "$3::timestamptz", "$4::timestamptz")}) AS s ON true
WHERE p.id = $1
"""

# A reward spend's read, one row per open lot of the member (one row of nulls beside the rest
# when there is none): the active key ($1) and what an earlier request with the same
# Idempotency-Key ($2, alive since $3) stored; the program ($4), the reward ($5, if it is the
# program's) and the member ($6: account, debt, lots summed at $7 with $8 the expiring horizon).
_REWARD_SPEND = f"""
SELECT k.id AS key_id, k.name AS key_name, k.key_prefix, k.scopes AS key_scopes,
       k.created_at AS key_created_at,
       stored.request_hash AS stored_hash, stored.response_status AS stored_status,
       stored.response_body AS stored_body,
       p.id AS program_found, {", ".join(f"p.{name}" for name in PROGRAM_COLUMN_NAMES)},
       {", ".join(f"r.{name} AS reward_{name}" for name in REWARD_COLUMN_NAMES)},
       a.id AS account_id, coalesce(a.debt, 0) AS debt, s.*,
       lot.id AS lot_id, lot.remaining AS lot_remaining, lot.available_at AS lot_available_at,
       lot.expires_at AS lot_expires_at, lot.created_at AS lot_created_at
FROM api_keys AS k
LEFT JOIN idempotency_keys AS stored
  ON stored.api_key_id = k.id AND stored.key = $2 AND stored.created_at > $3
LEFT JOIN loyalty_programs AS p ON p.id = $4
LEFT JOIN loyalty_rewards AS r ON r.id = $5 AND r.program_id = p.id
LEFT JOIN balance_accounts AS a
  ON a.kind = 'points' AND a.program_id = p.id AND a.customer_id = $6
LEFT JOIN LATERAL ({summary_sql("a.id", "$7::timestamptz", "$8::timestamptz")}) AS s ON true
LEFT JOIN ledger_lots AS lot ON lot.account_id = a.id AND lot.remaining > 0
WHERE k.key_hash = $1 AND k.revoked_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class RewardSpend:
    """What a reward spend reads: the caller's key (None: unknown or revoked, and nothing
    else), an earlier answer under its Idempotency-Key, the program and reward (None when
    unknown), and the member's account id (None: never earned), debt, summary and open lots."""

    key: ApiKey | None
    stored: StoredResponse | None = None
    program: Program | None = None
    reward: Reward | None = None
    account_id: UUID | None = None
    debt: int = 0
    summary: Summary | None = None
    lots: tuple[Lot, ...] = ()


# The gift cards and wallets with these normalised codes, one row per open lot (or one row with
# no lot): what a redeem plans its payments from.
_BALANCE_CODES = """
SELECT a.id, a.kind, a.program_id, a.customer_id, a.currency, a.code, a.debt, a.expires_at,
       a.created_at, a.normalised_code,
       lot.id AS lot_id, lot.remaining AS lot_remaining, lot.available_at AS lot_available_at,
       lot.expires_at AS lot_expires_at, lot.created_at AS lot_created_at
FROM balance_accounts AS a
LEFT JOIN ledger_lots AS lot ON lot.account_id = a.id AND lot.remaining > 0
WHERE a.normalised_code = ANY($1::text[])
"""


@dataclass(frozen=True, slots=True)
class BalanceCodes:
    """Gift cards and wallets by normalised code, and each one's open lots, as read."""

    accounts: Mapping[str, Account]
    lots: Mapping[UUID, tuple[Lot, ...]]


class CheckoutReads:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def _fetch(self, statement: _Rendered, values: Mapping[str, Any]) -> list[Any]:
        return await self._run(statement.sql, statement.arguments(values))

    async def _run(self, sql: str, arguments: Sequence[Any]) -> list[Any]:
        return await fetch(self.connection, sql, arguments)

    async def authenticate(self, key_hash: bytes) -> ApiKey | None:
        """The active key with this digest, or None."""
        rows = await self._fetch(_AUTHENTICATE, {"key_hash": key_hash})
        return _api_key(rows[0]) if rows else None

    async def key_and_block(
        self, key_hash: bytes, guessers: "Guessers", now: datetime
    ) -> tuple[ApiKey | None, datetime | None]:
        """The active key with this digest, and until when the request's customer or address
        may not try codes: one statement."""
        values = {
            "key_hash": key_hash,
            "customer_subject": guessers.customer,
            "address_subject": guessers.address,
            "now": now,
        }
        rows = await self._fetch(_KEY_AND_BLOCK, values)
        return (_api_key(rows[0]), rows[0]["blocked_until"]) if rows else (None, None)

    async def load_candidates(
        self,
        key_hash: bytes,
        normalised_codes: Sequence[str],
        customer_id: str | None,
        currency: str,
        guessers: "Guessers",
        now: datetime,
    ) -> "Candidates":
        """The active key with this digest (None when unknown or revoked, and then nothing
        else), until when the customer or address may not try codes, the requested codes by
        normalised text and the live automatic promotions (with what their budgets have left
        in currency)."""
        values = _candidate_values(key_hash, normalised_codes, customer_id, currency, guessers, now)
        return _candidates(await self._fetch(_KEY_AND_CANDIDATES, values), stored=False)

    async def load_qualifying(
        self, key_hash: bytes, customer_id: str | None, currency: str, now: datetime
    ) -> "Candidates":
        """The active key with this digest and what the shopper may be offered: the live
        automatic promotions, the codes bound to them and the advertised campaigns' public
        codes (Candidates.by_code, by normalised text), in one statement."""
        values = _candidate_values(
            key_hash, (), customer_id, currency, Guessers(customer=None, address=None), now
        )
        return _candidates(await self._fetch(_KEY_AND_QUALIFYING, values), stored=False)

    async def load_for_redeem(
        self,
        key_hash: bytes,
        normalised_codes: Sequence[str],
        customer_id: str | None,
        currency: str,
        guessers: "Guessers",
        idempotency_key: str,
        now: datetime,
    ) -> "Candidates":
        """load_candidates, plus the answer an earlier request with this Idempotency-Key
        stored, if any and not expired: one statement."""
        values = _candidate_values(key_hash, normalised_codes, customer_id, currency, guessers, now)
        values["idempotency_key"] = idempotency_key
        values["keys_alive_since"] = now - KEY_LIFETIME
        return _candidates(await self._fetch(_KEY_STORED_AND_CANDIDATES, values), stored=True)

    async def balance_codes(self, normalised_codes: Sequence[str]) -> BalanceCodes:
        """The gift cards and wallets with these codes and their open lots: one statement."""
        accounts: dict[str, Account] = {}
        lots: dict[UUID, list[Lot]] = {}
        for row in await self._run(_BALANCE_CODES, [list(normalised_codes)]):
            accounts[row["normalised_code"]] = account_of(SimpleNamespace(**dict(row)))
            held = lots.setdefault(row["id"], [])
            if row["lot_id"] is not None:
                held.append(
                    Lot(
                        id=row["lot_id"],
                        remaining=row["lot_remaining"],
                        available_at=row["lot_available_at"],
                        expires_at=row["lot_expires_at"],
                        created_at=row["lot_created_at"],
                    )
                )
        return BalanceCodes(accounts, {key: tuple(value) for key, value in lots.items()})

    async def stored_answer(
        self, api_key_id: UUID, idempotency_key: str, now: datetime
    ) -> StoredResponse | None:
        """What the request that holds this Idempotency-Key stored, unless it expired."""
        rows = await self._run(_STORED_ANSWER, [api_key_id, idempotency_key, now - KEY_LIFETIME])
        return StoredResponse(*rows[0]) if rows else None

    async def lapsed_holds(
        self,
        now: datetime,
        limit: int,
        *,
        codes: Sequence[UUID] | None = None,
        campaigns: Sequence[UUID] | None = None,
    ) -> list[UUID]:
        """Holds past their end that still hold what they took, soonest ended first; with
        codes or campaigns, only those holding one of them."""
        if codes is None and campaigns is None:
            rows = await self._run(_LAPSED_HOLDS, [now, limit])
        else:
            arguments = [now, limit, list(codes or ()), list(campaigns or ())]
            rows = await self._run(_LAPSED_HOLDS_OF, arguments)
        return [row["id"] for row in rows]

    async def redemption(self, redemption_id: UUID) -> RedemptionRecord | None:
        rows = await self._run(_REDEMPTION, [redemption_id])
        return record_of(SimpleNamespace(**dict(rows[0]))) if rows else None

    async def member_balance(
        self, program_id: UUID, customer_id: str, now: datetime, soon: timedelta
    ) -> tuple[Program, Summary, int] | None:
        """The program, the member's lots summed at now and their debt; None: no program."""
        rows = await self._run(_MEMBER_BALANCE, [program_id, customer_id, now, now + soon])
        if not rows:
            return None
        row = SimpleNamespace(**dict(rows[0]))
        return program_from_row(row), summary_of(row), row.debt

    async def load_reward_spend(
        self,
        key_hash: bytes,
        idempotency_key: str,
        program_id: UUID,
        reward_id: UUID,
        customer_id: str,
        now: datetime,
        soon: timedelta,
    ) -> RewardSpend:
        """Everything a reward spend decides on, in one statement."""
        rows = await self._run(
            _REWARD_SPEND,
            [
                key_hash,
                idempotency_key,
                now - KEY_LIFETIME,
                program_id,
                reward_id,
                customer_id,
                now,
                now + soon,
            ],
        )
        if not rows:
            return RewardSpend(key=None)
        first = rows[0]
        stored = None
        if first["stored_hash"] is not None:
            stored = StoredResponse(
                first["stored_hash"], first["stored_status"], first["stored_body"]
            )
        program = None
        if first["program_found"] is not None:
            program = program_from_row(SimpleNamespace(**dict(first)))
        reward = None
        if first["reward_id"] is not None:
            reward = reward_from_row(
                SimpleNamespace(**{name: first[f"reward_{name}"] for name in REWARD_COLUMN_NAMES})
            )
        lots = tuple(
            Lot(
                id=row["lot_id"],
                remaining=row["lot_remaining"],
                available_at=row["lot_available_at"],
                expires_at=row["lot_expires_at"],
                created_at=row["lot_created_at"],
            )
            for row in rows
            if row["lot_id"] is not None
        )
        return RewardSpend(
            key=_api_key(first),
            stored=stored,
            program=program,
            reward=reward,
            account_id=first["account_id"],
            debt=first["debt"],
            summary=summary_of(SimpleNamespace(**dict(first))),
            lots=lots,
        )

    async def record_failed_guesses(
        self, subjects: Sequence[Subject], failures: int, now: datetime, window: timedelta
    ) -> dict[str, Tally]:
        """Add failures to each subject (one statement); each tally in its window afterwards."""
        rows = await self._run(RECORD_FAILURES, record_arguments(subjects, failures, now, window))
        return tallies(rows)


@dataclass(frozen=True, slots=True)
class Guessers:
    """Whose failed-guess blocks a read checks: the customer's and the client address's
    counters by name (None when the request names no customer / no address)."""

    customer: str | None
    address: str | None


@dataclass(frozen=True, slots=True)
class Candidates:
    key: ApiKey | None
    blocked_until: datetime | None
    by_code: dict[str, Promotion]
    automatic: list[Promotion]
    stored: StoredResponse | None = None


def _candidate_values(
    key_hash: bytes,
    normalised_codes: Sequence[str],
    customer_id: str | None,
    currency: str,
    guessers: Guessers,
    now: datetime,
) -> dict[str, Any]:
    return {
        "key_hash": key_hash,
        "codes": list(normalised_codes),
        "customer_id": customer_id,
        "currency": currency,
        "customer_subject": guessers.customer,
        "address_subject": guessers.address,
        "now": now,
    }


def _candidates(rows: Sequence[Any], *, stored: bool) -> Candidates:
    key: ApiKey | None = None
    blocked_until: datetime | None = None
    answer: StoredResponse | None = None
    by_code: dict[str, Promotion] = {}
    automatic: list[Promotion] = []
    for row in rows:
        if key is None:
            key = _api_key(row)
            blocked_until = row["blocked_until"]
            if stored and row["stored_hash"] is not None:
                answer = StoredResponse(
                    row["stored_hash"], row["stored_status"], row["stored_body"]
                )
        if row["campaign_id"] is None:
            continue
        promotion = promotion_from_row(row)
        if row["normalised_code"] is None:
            automatic.append(promotion)
        else:
            by_code[row["normalised_code"]] = promotion
    return Candidates(key, blocked_until, by_code, automatic, answer)
