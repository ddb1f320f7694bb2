"""The checkout's writes, each one statement on an autocommit connection (like checkout_reads):
a statement is atomic on its own, so a redeem needs no BEGIN and COMMIT around its work.

`record_redemption` claims the Idempotency-Key, takes one use of every code and customer limit
(each a guarded write, as before), records the redemption and its items and stores the answer,
all in one statement. If the key is taken, or any guarded write finds no room, the statement
raises through tessera_refuse() (migration 8b1f4c7e2a90) and leaves nothing behind.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.driver import fetch, fetch_atomically
from app.db.errors import DuplicateKeyError, StatementUndoneError
from app.db.mappers import lines_to_text, terms_to_text
from app.db.repositories.campaigns import BUDGETS_GIVEN_BACK, PERIOD_ITEMS, PERIODS_GIVEN_BACK
from app.db.repositories.idempotency import KEY_LIFETIME
from app.db.repositories.redemptions import RedemptionItemRecord, RedemptionRecord
from app.domain.cart import CartLine
from app.domain.ledger import Take
from app.domain.periods import PeriodTake
from app.domain.verdicts import LoggedVerdict

# Why record_redemption wrote nothing.
KEY_TAKEN = "key_taken"  # another request holds (or held) the Idempotency-Key
# Every counter row with room is held by other redeems right now, or the statement was undone
# to break a deadlock: either way, the same write may run again
CODE_BUSY = "code_busy"
# A code has no use left, is gone or switched off, or its campaign is no longer active.
CODE_LIMIT = "code_limit"
CUSTOMER_LIMIT = "customer_limit"  # the customer has used up a per-customer limit
BALANCE_CHANGED = "balance_changed"  # the account or its lots changed since they were read
BUDGET_SPENT = "budget_spent"  # a campaign budget has too little left since it was read
PERIOD_LIMIT = "period_limit"  # a limit per period was reached since it was read

_CLAIM = """
claim AS (
    INSERT INTO idempotency_keys AS k
        (api_key_id, key, request_hash, response_status, response_body, created_at)
    VALUES ($1, $2, $3, $4, $5::json, $6)
    ON CONFLICT (api_key_id, key) DO UPDATE SET
        request_hash = excluded.request_hash,
        response_status = excluded.response_status,
        response_body = excluded.response_body,
        created_at = excluded.created_at
    -- An expired key is taken over; a live one is somebody's answer.
    WHERE k.created_at <= $6 - $7::interval
    RETURNING 1
)"""

# One use of each code ($8, in id order) while its campaign is active: from a random counter row
# with room that no other transaction holds, or on the code's own row for a code counted there
# (domain/counters.py); the customer's uses ($9-$12: subject,
# subject id, limit, customer), each an upsert that counts only below its limit; then the
# redemption ($36: its status, 'held' for a hold, $37: until when, $51: its cart's lines, $53:
# its chosen shipping method) and its
# items ($23-$32, $52: the terms each applied with); then
# what the campaigns' budgets give ($33-$35: campaign, unit, amount), their rows locked in key
# order, each take guarded by its cap; then the period counters ($38-$43: campaign, per, subject,
# period, start, limit), each an upsert that counts only below its limit, in key order (these
# two only in the variants that take some: _redeem). Every part reads
# `claim`, so nothing happens for a taken key, and the final SELECT raises unless every part did
# all it had to.
_REDEEM_PARTS = """
WITH {claim},
pick AS (
    SELECT p.code_id, p.slot
    FROM claim, unnest($8::uuid[]) AS wanted(code_id)
    CROSS JOIN LATERAL (
        SELECT c.code_id, c.slot FROM code_counters AS c
        WHERE c.code_id = wanted.code_id AND (c.capacity IS NULL OR c.used < c.capacity)
        ORDER BY random()
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) AS p
),
took AS (
    UPDATE code_counters AS counter SET used = counter.used + 1
    FROM pick, codes, campaigns
    WHERE counter.code_id = pick.code_id AND counter.slot = pick.slot
      AND (counter.capacity IS NULL OR counter.used < counter.capacity)
      AND codes.id = counter.code_id AND codes.disabled_at IS NULL
      AND campaigns.id = codes.campaign_id AND campaigns.status = 'active'
    RETURNING counter.code_id
),
took_on_row AS (
    UPDATE codes SET used = codes.used + 1
    FROM claim, campaigns
    WHERE codes.id = ANY($8::uuid[]) AND codes.used IS NOT NULL AND codes.disabled_at IS NULL
      AND (codes.max_redemptions IS NULL OR codes.used < codes.max_redemptions)
      AND campaigns.id = codes.campaign_id AND campaigns.status = 'active'
    RETURNING codes.id
),
usage AS (
    SELECT * FROM unnest($9::text[], $10::uuid[], $11::integer[]) AS u(subject, subject_id, lim)
),
{period_wanted}counted AS (
    INSERT INTO customer_usages AS cu (subject, subject_id, customer_id, redemption_count)
    SELECT usage.subject, usage.subject_id, $12::text, 1 FROM claim, usage
    ORDER BY usage.subject, usage.subject_id
    ON CONFLICT (subject, subject_id, customer_id) DO UPDATE
        SET redemption_count = cu.redemption_count + 1
        WHERE cu.redemption_count < (
            SELECT usage.lim FROM usage
            WHERE usage.subject = excluded.subject AND usage.subject_id = excluded.subject_id
        )
    RETURNING 1
),
redemption AS (
    INSERT INTO redemptions (
        id, api_key_id, customer_id, order_id, currency, subtotal_amount, discount_amount,
        shipping_amount, shipping_discount_amount, total_amount, cashback_amount, result,
        created_at, status, expires_at, period_takes, lines, shipping_method
    )
    SELECT $13::uuid, $1, $12::text, $14::text, $15::text, $16::bigint, $17::bigint,
           $18::bigint, $19::bigint, $20::bigint, $21::bigint, $5::jsonb - $22::text[], $6,
           $36::text, $37::timestamptz, {period_takes}, $51::jsonb, $53::text
    FROM claim
    RETURNING id
),
items AS (
    INSERT INTO redemption_items (
        redemption_id, position, code_id, campaign_id, discount_amount,
        shipping_discount_amount, cashback_amount, counted_code_customer,
        counted_campaign_customer, budget_redemption, budget_amount, terms, created_at
    )
    SELECT redemption.id, i.*, $6 FROM redemption, unnest(
        $23::smallint[], $24::uuid[], $25::uuid[], $26::bigint[], $27::bigint[], $28::bigint[],
        $29::boolean[], $30::boolean[], $31::boolean[], $32::bigint[], $52::jsonb[]
    ) AS i
),
{budget_parts}{period_parts}"""

# The budget and period parts, only in the variants that take some (_redeem): a redeem of
# campaigns with neither skips them (measured: ~55 µs of its statement's ~645 µs).
_PERIOD_WANTED = """period_wanted AS (
    SELECT * FROM unnest(
        $38::uuid[], $39::text[], $40::text[], $41::text[], $42::date[], $43::integer[]
    ) AS w(campaign_id, per, subject, period, starts, lim)
),
"""
_PERIOD_TAKES = """(SELECT coalesce(jsonb_agg(jsonb_build_array(
                w.campaign_id, w.per, w.subject, w.period, w.starts)), '[]'::jsonb)
            FROM period_wanted AS w)"""
_BUDGET_PARTS = """budget_held AS (
    SELECT b.campaign_id, b.unit FROM claim, campaign_budgets AS b
    WHERE (b.campaign_id, b.unit) IN (
        SELECT * FROM unnest($33::uuid[], $34::text[]) AS t(campaign_id, unit)
    )
    ORDER BY b.campaign_id, b.unit COLLATE "C"
    FOR UPDATE OF b
),
budget_taken AS (
    UPDATE campaign_budgets AS b SET used = b.used + t.amount
    FROM budget_held,
         unnest($33::uuid[], $34::text[], $35::bigint[]) AS t(campaign_id, unit, amount)
    WHERE b.campaign_id = budget_held.campaign_id AND b.unit = budget_held.unit
      AND t.campaign_id = b.campaign_id AND t.unit = b.unit AND b.used + t.amount <= b.cap
    RETURNING 1
),
"""
_PERIOD_PARTS = """period_counted AS (
    INSERT INTO period_uses AS pu (campaign_id, per, subject, period, starts, used)
    SELECT w.campaign_id, w.per, w.subject, w.period, w.starts, 1 FROM claim, period_wanted AS w
    ORDER BY w.campaign_id, w.per COLLATE "C", w.subject COLLATE "C", w.period COLLATE "C",
             w.starts
    ON CONFLICT (campaign_id, per, subject, period, starts) DO UPDATE
        SET used = pu.used + 1
        WHERE pu.used < (
            SELECT w.lim FROM period_wanted AS w
            WHERE w.campaign_id = excluded.campaign_id AND w.per = excluded.per
              AND w.subject = excluded.subject AND w.period = excluded.period
              AND w.starts = excluded.starts
        )
    RETURNING 1
),
"""

# What gift cards and wallets pay ($44: the accounts, locked in id order; $45-$47: each take's
# lot, amount and payment entry; $48-$50: each payment entry's id, account and amount): guarded
# takes from the planned lots, the payment entries naming the redemption, their allocations.
_PAYMENTS = """
paying AS (
    SELECT a.id FROM claim, balance_accounts AS a
    WHERE a.id = ANY($44::uuid[])
    ORDER BY a.id
    FOR UPDATE OF a
),
paid AS (
    UPDATE ledger_lots AS lot SET remaining = lot.remaining - t.amount
    FROM paying, unnest($45::uuid[], $46::bigint[]) AS t(lot_id, amount)
    WHERE lot.id = t.lot_id AND lot.account_id = paying.id AND lot.remaining >= t.amount
    RETURNING lot.id
),
payment_entries AS (
    INSERT INTO ledger_entries (id, account_id, kind, amount, redemption_id, created_at)
    SELECT p.entry_id, p.account_id, 'payment', -p.amount, redemption.id, $6
    FROM redemption,
         unnest($48::uuid[], $49::uuid[], $50::bigint[]) AS p(entry_id, account_id, amount)
    RETURNING id
),
payment_allocations AS (
    INSERT INTO ledger_allocations (entry_id, lot_id, amount)
    SELECT t.entry_id, t.lot_id, t.amount
    FROM payment_entries
    JOIN unnest($47::uuid[], $45::uuid[], $46::bigint[]) AS t(entry_id, lot_id, amount)
      ON t.entry_id = payment_entries.id
),"""


def _redeem(paying: bool, budgeted: bool, periodic: bool) -> str:
    """The redeem statement; paying: with the balance codes' payments (_PAYMENTS); budgeted:
    with the campaign budgets' takes; periodic: with the period counters. A variant without a
    part still reads its parameters (as empty arrays), so every variant has the same $n. The
    final SELECT raises unless the key was claimed and every part did all it had to."""
    payments = _PAYMENTS if paying else ""
    parts = _REDEEM_PARTS.format(
        claim=_CLAIM,
        period_wanted=_PERIOD_WANTED if periodic else "",
        period_takes=_PERIOD_TAKES if periodic else "'[]'::jsonb",
        budget_parts=_BUDGET_PARTS if budgeted else "",
        period_parts=_PERIOD_PARTS if periodic else "",
    )
    budgets_taken = (
        "(SELECT count(*) FROM budget_taken)"
        if budgeted
        else "0 * (cardinality($34::text[]) + cardinality($35::bigint[]))"
    )
    periods_counted = (
        "(SELECT count(*) FROM period_counted)"
        if periodic
        else "0 * (cardinality($39::text[]) + cardinality($40::text[])"
        " + cardinality($41::text[]) + cardinality($42::date[]) + cardinality($43::integer[]))"
    )
    paid = (
        """,
           (SELECT count(*) FROM paying) AS accounts_locked,
           (SELECT count(*) FROM paid) AS lots_taken"""
        if paying
        # Typed all the same, so that $51 and $52 follow them in every variant.
        else """,
           cardinality($44::uuid[]) + cardinality($45::uuid[]) + cardinality($46::bigint[])
           + cardinality($47::uuid[]) + cardinality($48::uuid[]) + cardinality($49::uuid[])
           + cardinality($50::bigint[]) AS no_payments"""
    )
    balance_changed = (
        f"""
    WHEN done.accounts_locked < cardinality($44::uuid[])
      OR done.lots_taken < cardinality($45::uuid[]) THEN tessera_refuse('{BALANCE_CHANGED}')"""
        if paying
        else ""
    )
    return f"""{parts}{payments}
done AS (
    SELECT (SELECT count(*) FROM claim) AS claimed,
           (SELECT count(*) FROM took) + (SELECT count(*) FROM took_on_row) AS codes_taken,
           (SELECT count(*) FROM counted) AS customers_counted,
           {budgets_taken} AS budgets_taken,
           {periods_counted} AS periods_counted{paid}
)
SELECT CASE
    WHEN done.claimed = 0 THEN tessera_refuse('{KEY_TAKEN}')
    WHEN done.codes_taken < cardinality($8::uuid[]) THEN tessera_refuse(
        -- Busy only if every code is still there, enabled, in an active campaign, and has a
        -- counter row with room (others hold them); a code counted on its row was waited
        -- for, so a miss there is its limit. Otherwise the read again tells why.
        CASE WHEN (
            SELECT count(*) = cardinality($8::uuid[]) AND bool_and(
                codes.used IS NULL AND codes.disabled_at IS NULL
                AND campaigns.status = 'active'
                AND EXISTS (
                    SELECT FROM code_counters AS c
                    WHERE c.code_id = codes.id AND (c.capacity IS NULL OR c.used < c.capacity)
                )
            )
            FROM codes JOIN campaigns ON campaigns.id = codes.campaign_id
            WHERE codes.id = ANY($8::uuid[])
        ) THEN '{CODE_BUSY}' ELSE '{CODE_LIMIT}' END
    )
    WHEN done.customers_counted < cardinality($9::text[])
        THEN tessera_refuse('{CUSTOMER_LIMIT}')
    WHEN done.budgets_taken < cardinality($33::uuid[])
        THEN tessera_refuse('{BUDGET_SPENT}')
    WHEN done.periods_counted < cardinality($38::uuid[])
        THEN tessera_refuse('{PERIOD_LIMIT}'){balance_changed}
    ELSE true
END AS recorded
FROM done
"""


# Every variant, by (paying, budgeted, periodic).
REDEEM_STATEMENTS = {
    (paying, budgeted, periodic): _redeem(paying, budgeted, periodic)
    for paying in (False, True)
    for budgeted in (False, True)
    for periodic in (False, True)
}


# A reward's points spent from the lots planned ($10 ids, $11 amounts) of the member's account
# ($8), whose debt must still be $9: the account row is locked first, as every other writer of
# a balance does, then each take is a guarded UPDATE; the single-use code ($12-$17) bound to the
# member, counting its use on its row; the spend entry ($18, -$19 points, reward $20) and which
# lots it took. The final SELECT raises unless the key was claimed and every take happened.
_SPEND_REWARD = f"""
WITH {_CLAIM},
account AS (
    SELECT a.id FROM claim, balance_accounts AS a
    WHERE a.id = $8 AND a.debt = $9
    FOR UPDATE OF a
),
took AS (
    UPDATE ledger_lots AS lot SET remaining = lot.remaining - t.amount
    FROM account, unnest($10::uuid[], $11::bigint[]) AS t(lot_id, amount)
    WHERE lot.id = t.lot_id AND lot.account_id = account.id AND lot.remaining >= t.amount
    RETURNING lot.id
),
code AS (
    INSERT INTO codes (
        id, campaign_id, code, normalised_code, max_redemptions, customer_id, expires_at, source,
        used
    )
    SELECT $12::uuid, $13::uuid, $14::text, $15::text, 1, $16::text, $17::timestamptz, 'reward',
           0
    FROM account
    RETURNING id
),
entry AS (
    INSERT INTO ledger_entries (
        id, account_id, kind, amount, reward_id, code_id, api_key_id, created_at
    )
    SELECT $18::uuid, account.id, 'spend', -($19::bigint), $20::uuid, code.id, $1, $6
    FROM account, code
    RETURNING id
),
allocated AS (
    INSERT INTO ledger_allocations (entry_id, lot_id, amount)
    SELECT entry.id, t.lot_id, t.amount
    FROM entry, unnest($10::uuid[], $11::bigint[]) AS t(lot_id, amount)
),
done AS (
    SELECT (SELECT count(*) FROM claim) AS claimed,
           (SELECT count(*) FROM account) AS locked,
           (SELECT count(*) FROM took) AS taken
)
SELECT CASE
    WHEN done.claimed = 0 THEN tessera_refuse('{KEY_TAKEN}')
    WHEN done.locked = 0 OR done.taken < cardinality($10::uuid[])
        THEN tessera_refuse('{BALANCE_CHANGED}')
    ELSE true
END AS recorded
FROM done
"""

# A refusal is an answer too: stored under the key, so a retry gets it again.
_STORE_REFUSAL = f"""
WITH {_CLAIM}
SELECT CASE WHEN (SELECT count(*) FROM claim) = 0 THEN tessera_refuse('{KEY_TAKEN}')
            ELSE true END
"""


# A rollback that touches no balance: flip the redemption to rolled_back, give back one use of
# each code (on the code's own row, or from its first counter row that has one) and the
# customer's counted uses. A redemption that paid with or credited a balance, or whose order
# earned points, is left alone (`ledger` says so) for the rollback that runs as a transaction;
# so is one partly returned (its items' amounts changed: the transaction reads them anew).
# Rows are locked in db/locking.py's order (codes by id, a code's counter rows by slot, customer
# uses by subject). Racing rollbacks of one code wait for the same first counter row; the lock's
# recheck passes over a row another emptied meanwhile to the next with a use. Should a release
# still find nothing to take from, the whole statement is refused (CODE_BUSY) and tried again,
# so a use is never silently kept.
_ROLLBACK = f"""
WITH involved AS (
    SELECT EXISTS (SELECT FROM ledger_entries WHERE redemption_id = $1)
        OR EXISTS (
            SELECT FROM redemptions AS r
            JOIN ledger_entries AS e ON e.kind = 'earn' AND e.order_id = r.order_id
            WHERE r.id = $1 AND r.status = 'succeeded'
        ) AS ledger
),
flipped AS (
    UPDATE redemptions AS r
    SET status = CASE
            WHEN r.status = 'succeeded' THEN 'rolled_back'
            WHEN $2::text = 'lapse' THEN 'expired'
            ELSE 'released'
        END,
        rolled_back_at = now()
    FROM involved
    WHERE r.id = $1 AND NOT involved.ledger
      -- A partly returned redemption is the transaction's (rechecked on the row's latest
      -- version, should a return commit while this waits for it).
      AND r.returned_quantities IS NULL
      AND (r.status = 'succeeded' AND $2::text = 'rollback'
           OR r.status = 'held' AND ($2::text <> 'lapse' OR r.expires_at <= $3::timestamptz))
    RETURNING r.id, r.customer_id, r.order_id, r.status, r.result, r.created_at,
              r.rolled_back_at, r.expires_at, r.currency, r.period_takes
),
items AS (
    SELECT i.code_id, i.campaign_id, i.counted_code_customer, i.counted_campaign_customer,
           i.budget_redemption, i.budget_amount, flipped.customer_id, flipped.currency
    FROM flipped JOIN redemption_items AS i ON i.redemption_id = flipped.id
),
given_on_row AS (
    UPDATE codes SET used = codes.used - 1
    FROM (
        SELECT c.id FROM codes AS c JOIN items ON c.id = items.code_id
        WHERE c.used > 0
        ORDER BY c.id
        FOR UPDATE OF c
    ) AS locked
    WHERE codes.id = locked.id AND codes.used > 0
    RETURNING codes.id
),
given AS (
    UPDATE code_counters AS counter SET used = counter.used - 1
    FROM (
        SELECT pick.code_id, pick.slot
        FROM (
            SELECT items.code_id FROM items
            JOIN codes ON codes.id = items.code_id AND codes.used IS NULL
            ORDER BY items.code_id
        ) AS wanted
        CROSS JOIN LATERAL (
            SELECT c.code_id, c.slot FROM code_counters AS c
            WHERE c.code_id = wanted.code_id AND c.used > 0
            ORDER BY c.slot
            LIMIT 1
            FOR UPDATE
        ) AS pick
    ) AS chosen
    WHERE counter.code_id = chosen.code_id AND counter.slot = chosen.slot AND counter.used > 0
    RETURNING counter.code_id
),
usages AS MATERIALIZED (
    -- Materialized, as budgets_owed is (campaigns.py): the join below is rechecked against
    -- rows as they were read when a concurrent rollback updated a counter first.
    SELECT subject, subject_id, customer_id, count(*) AS uses
    FROM (
        SELECT 'code' AS subject, code_id AS subject_id, customer_id FROM items
        WHERE counted_code_customer AND code_id IS NOT NULL
        UNION ALL
        SELECT 'campaign', campaign_id, customer_id FROM items WHERE counted_campaign_customer
    ) AS counted
    WHERE customer_id IS NOT NULL
    GROUP BY subject, subject_id, customer_id
),
uncounted AS (
    UPDATE customer_usages AS cu
    SET redemption_count = greatest(cu.redemption_count - locked.uses, 0)
    FROM (
        SELECT held.subject, held.subject_id, held.customer_id, usages.uses
        FROM customer_usages AS held
        JOIN usages USING (subject, subject_id, customer_id)
        ORDER BY held.subject, held.subject_id
        FOR UPDATE OF held
    ) AS locked
    WHERE cu.subject = locked.subject AND cu.subject_id = locked.subject_id
      AND cu.customer_id = locked.customer_id
    RETURNING 1
),
budget_items AS (SELECT campaign_id, budget_redemption, budget_amount, currency FROM items),
{BUDGETS_GIVEN_BACK},
{PERIOD_ITEMS.format(source="flipped")},
{PERIODS_GIVEN_BACK},
done AS (
    -- Read in lock order, so the writes run in it: the codes' rows, the customers' uses, the
    -- budgets, then the period counters (db/locking.py); writes nothing reads would run last.
    SELECT (SELECT count(*) FROM items WHERE code_id IS NOT NULL) AS wanted,
           (SELECT count(*) FROM given_on_row) + (SELECT count(*) FROM given) AS released,
           (SELECT count(*) FROM uncounted) AS uses_given,
           (SELECT count(*) FROM budgets_given_back) AS budgets_given,
           (SELECT count(*) FROM periods_given_back) AS periods_given
)
SELECT CASE WHEN done.released < done.wanted THEN tessera_refuse('{CODE_BUSY}') ELSE true END
           AS whole,
       involved.ledger,
       flipped.id, flipped.customer_id, flipped.order_id, flipped.status, flipped.result,
       flipped.created_at, flipped.rolled_back_at, flipped.expires_at
FROM done CROSS JOIN involved LEFT JOIN flipped ON true
"""


@dataclass(frozen=True, slots=True)
class RolledBack:
    """What the one-statement rollback did: the redemption it flipped, or nothing (it was not
    a succeeded redemption, or `ledger`: it involves balances or points)."""

    redemption: RedemptionRecord | None
    ledger: bool


class WriteRefused(Exception):
    """A checkout write found a guarded part refused and wrote nothing; reason says which
    (KEY_TAKEN, CODE_BUSY, CODE_LIMIT, CUSTOMER_LIMIT, BUDGET_SPENT, PERIOD_LIMIT,
    BALANCE_CHANGED)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    """An idempotent answer to store with the key that asked for it."""

    api_key_id: UUID
    key: str
    request_hash: bytes
    status: int
    body: bytes
    """Rendered (app/rendering.py), as the response sends it."""
    at: datetime


@dataclass(frozen=True, slots=True)
class NewRedemption:
    id: UUID
    customer_id: str | None
    order_id: str | None
    currency: str
    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    answer_only: Sequence[str]
    """The answer's fields that redemptions.result leaves out (the redemption's identity and
    state, which have columns): the result is the stored answer without them."""
    items: Sequence[RedemptionItemRecord]
    code_ids: Sequence[UUID]
    """One use of each is taken."""
    customer_limits: Sequence[tuple[str, UUID, int]]
    """(subject, subject id, limit): one use of each is counted for the customer."""
    budget_takes: Sequence[tuple[UUID, str, int]] = ()
    """(campaign id, unit, amount) added to each capped campaign budget."""
    held_until: datetime | None = None
    """A hold: what it takes is held until then, and it is recorded 'held'."""
    period_takes: Sequence[PeriodTake] = ()
    """The period counters it adds one to, each below its limit."""
    payments: Sequence["NewPayment"] = ()
    """What gift cards and wallets pay, as planned from their lots as read."""
    lines: Sequence[CartLine] = ()
    """The cart's lines, kept for partial returns."""
    shipping_method: str | None = None
    """The cart's chosen shipping method, kept for partial returns."""

    @property
    def total_amount(self) -> int:
        return (
            self.subtotal_amount
            - self.discount_amount
            + self.shipping_amount
            - self.shipping_discount_amount
        )


def _claim_arguments(answer: Answer) -> list[Any]:
    return [
        answer.api_key_id,
        answer.key,
        answer.request_hash,
        answer.status,
        answer.body.decode(),
        answer.at,
        KEY_LIFETIME,
    ]


@dataclass(frozen=True, slots=True)
class NewPayment:
    """One balance code's payment: its entry and the lots it takes from."""

    entry_id: UUID
    account_id: UUID
    takes: Sequence[Take]

    @property
    def amount(self) -> int:
        return sum(take.amount for take in self.takes)


@dataclass(frozen=True, slots=True)
class RewardSpendWrite:
    """A reward bought with points, as planned from what was read."""

    account_id: UUID
    debt: int
    """What the account owed when read: the spend is refused if it changed since."""
    takes: Sequence[Take]
    code_id: UUID
    campaign_id: UUID
    code: str
    normalised_code: str
    customer_id: str
    expires_at: datetime
    entry_id: UUID
    points: int
    reward_id: UUID


_RECORD_VERDICTS = """
INSERT INTO verdict_log (customer_id, at, source, code, reason, campaign_id, api_key_id)
SELECT v.customer_id, v.at, v.source, v.code, v.reason, v.campaign_id, $7
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::uuid[])
    AS v(customer_id, at, source, code, reason, campaign_id)
"""


def _payment_arguments(payments: Sequence[NewPayment]) -> list[Any]:
    """$44-$50 of _PAYMENTS (empty arrays when nothing is paid)."""
    return [
        list({payment.account_id for payment in payments}),
        [take.lot_id for payment in payments for take in payment.takes],
        [take.amount for payment in payments for take in payment.takes],
        [payment.entry_id for payment in payments for _ in payment.takes],
        [payment.entry_id for payment in payments],
        [payment.account_id for payment in payments],
        [payment.amount for payment in payments],
    ]


class CheckoutWrites:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def _write(self, sql: str, arguments: Sequence[Any]) -> list[Any]:
        try:
            return await fetch_atomically(self.connection, sql, arguments)
        except asyncpg.RaiseError as refused:
            raise WriteRefused(refused.args[0] if refused.args else str(refused)) from None
        except StatementUndoneError:
            # Undone whole to break a lock cycle with another transaction: nothing was
            # written, and the same write may run again (as when its rows were held).
            raise WriteRefused(CODE_BUSY) from None

    async def record_redemption(self, redemption: NewRedemption, answer: Answer) -> None:
        """Claim the key, take every use, take what the balance codes pay, record the
        redemption and store answer, at once; WriteRefused, with nothing written, when any part
        is refused (BALANCE_CHANGED: a planned lot no longer holds its take)."""
        items = redemption.items
        usages = redemption.customer_limits
        budget_takes = sorted(redemption.budget_takes)
        period_takes = sorted(redemption.period_takes, key=lambda take: take.key)
        payments = redemption.payments
        await self._write(
            REDEEM_STATEMENTS[(bool(payments), bool(budget_takes), bool(period_takes))],
            [
                *_claim_arguments(answer),
                list(redemption.code_ids),
                [subject for subject, _, _ in usages],
                [subject_id for _, subject_id, _ in usages],
                [limit for _, _, limit in usages],
                redemption.customer_id,
                redemption.id,
                redemption.order_id,
                redemption.currency,
                redemption.subtotal_amount,
                redemption.discount_amount,
                redemption.shipping_amount,
                redemption.shipping_discount_amount,
                redemption.total_amount,
                redemption.cashback_amount,
                list(redemption.answer_only),
                [i.position for i in items],
                [i.code_id for i in items],
                [i.campaign_id for i in items],
                [i.discount_amount for i in items],
                [i.shipping_discount_amount for i in items],
                [i.cashback_amount for i in items],
                [i.counted_code_customer for i in items],
                [i.counted_campaign_customer for i in items],
                [i.budget_redemption for i in items],
                [i.budget_amount for i in items],
                [campaign_id for campaign_id, _, _ in budget_takes],
                [unit for _, unit, _ in budget_takes],
                [amount for _, _, amount in budget_takes],
                "held" if redemption.held_until is not None else "succeeded",
                redemption.held_until,
                [take.key.campaign_id for take in period_takes],
                [take.key.per.value for take in period_takes],
                [take.key.subject for take in period_takes],
                [take.key.period.value for take in period_takes],
                [take.key.starts for take in period_takes],
                [take.limit for take in period_takes],
                *_payment_arguments(payments),
                lines_to_text(redemption.lines),
                [None if i.terms is None else terms_to_text(i.terms) for i in items],
                redemption.shipping_method,
            ],
        )

    async def record_verdicts(self, verdicts: Sequence[LoggedVerdict], api_key_id: UUID) -> None:
        """Log refused codes for support, in one statement (nothing when there are none)."""
        if not verdicts:
            return
        await fetch(
            self.connection,
            _RECORD_VERDICTS,
            [
                [v.customer_id for v in verdicts],
                [v.at for v in verdicts],
                [v.source.value for v in verdicts],
                [v.code for v in verdicts],
                [v.reason.value for v in verdicts],
                [v.campaign_id for v in verdicts],
                api_key_id,
            ],
        )

    async def spend_reward(self, spend: RewardSpendWrite, answer: Answer) -> None:
        """Claim the key, take the planned points, make the code and store answer, at once;
        WriteRefused (KEY_TAKEN, BALANCE_CHANGED), with nothing written, otherwise.
        DuplicateKeyError when the drawn code text is taken (draw again)."""
        try:
            await self._write(
                _SPEND_REWARD,
                [
                    *_claim_arguments(answer),
                    spend.account_id,
                    spend.debt,
                    [take.lot_id for take in spend.takes],
                    [take.amount for take in spend.takes],
                    spend.code_id,
                    spend.campaign_id,
                    spend.code,
                    spend.normalised_code,
                    spend.customer_id,
                    spend.expires_at,
                    spend.entry_id,
                    spend.points,
                    spend.reward_id,
                ],
            )
        except asyncpg.UniqueViolationError as taken:
            raise DuplicateKeyError(taken.constraint_name or "") from None

    async def store_answer(self, answer: Answer) -> None:
        """Claim the key with a stored answer and nothing else (a refusal); WriteRefused
        (KEY_TAKEN) when another request holds the key."""
        await self._write(_STORE_REFUSAL, _claim_arguments(answer))

    async def roll_back(
        self,
        redemption_id: UUID,
        *,
        holds_only: bool = False,
        lapsed_by: datetime | None = None,
    ) -> RolledBack:
        """Give back what a redemption that touched no balance took, in one statement: roll it
        back ('rolled_back'), or release it if it is a hold ('released'). holds_only: only a
        hold. lapsed_by: only a hold that ended by then ('expired'). WriteRefused (CODE_BUSY),
        with nothing written, when a concurrent release emptied the counter row it picked."""
        mode = "lapse" if lapsed_by is not None else "release" if holds_only else "rollback"
        [row] = await self._write(_ROLLBACK, [redemption_id, mode, lapsed_by])
        if row["id"] is None:
            return RolledBack(None, row["ledger"])
        fields = ("id", "customer_id", "order_id", "status", "result", "created_at")
        record = RedemptionRecord(
            **{name: row[name] for name in fields},
            rolled_back_at=row["rolled_back_at"],
            expires_at=row["expires_at"],
        )
        return RolledBack(record, row["ledger"])
