"""The checkout's one-statement writes (db/repositories/checkout_writes.py): each claims the
Idempotency-Key, takes every guarded use and stores the answer, or is refused with a reason
and has written nothing at all."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.repositories.checkout_writes import (
    BALANCE_CHANGED,
    BUDGET_SPENT,
    CODE_LIMIT,
    CUSTOMER_LIMIT,
    KEY_TAKEN,
    REDEEM_STATEMENTS,
    Answer,
    CheckoutWrites,
    NewPayment,
    NewRedemption,
    RolledBack,
    WriteRefused,
)
from app.db.repositories.redemptions import RedemptionItemRecord
from app.domain.api_keys import Scope
from app.domain.campaigns import Code
from app.domain.ledger import Take
from app.services import api_keys
from tests.factories import Factory

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
async def key_id(factory: Factory) -> UUID:
    created = await api_keys.create_api_key(factory.uow(), "checkout", [Scope.CHECKOUT], actor=None)
    return created.record.id


def answer(key_id: UUID, key: str, status: int = 200) -> Answer:
    return Answer(
        key_id, key, b"h" * 32, status, b'{"first":1,"answer":["%s"]}' % key.encode(), NOW
    )


def redemption(code: Code, customer: str | None = None, per_customer: int | None = None) -> Any:
    return NewRedemption(
        id=uuid.uuid4(),
        customer_id=customer,
        order_id=None,
        currency="EUR",
        subtotal_amount=1000,
        discount_amount=100,
        shipping_amount=0,
        shipping_discount_amount=0,
        cashback_amount=0,
        answer_only=("answer",),
        items=[
            RedemptionItemRecord(0, code.id, code.campaign_id, 100, 0, 0, bool(customer), False)
        ],
        code_ids=[code.id],
        customer_limits=[("code", code.id, per_customer)] if per_customer else [],
    )


async def state(connection: AsyncConnection, code: Code, key_id: UUID) -> tuple[int, int, int]:
    """(uses of the code, redemptions of it, idempotency keys of the api key)."""
    row = (
        await connection.execute(
            text(
                """
                SELECT (SELECT coalesce(used, 0) FROM codes WHERE id = :code)
                     + (SELECT coalesce(sum(used), 0) FROM code_counters WHERE code_id = :code)
                       AS uses,
                       (SELECT count(*) FROM redemption_items WHERE code_id = :code) AS redemptions,
                       (SELECT count(*) FROM idempotency_keys WHERE api_key_id = :key) AS keys
                """
            ),
            {"code": code.id, "key": key_id},
        )
    ).one()
    return row.uses, row.redemptions, row.keys


async def test_a_redeem_takes_its_use_records_and_stores_its_answer_once(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-1", max_redemptions=2)
    writes = CheckoutWrites(connection)
    await writes.record_redemption(redemption(code), answer(key_id, "k-1"))
    assert await state(connection, code, key_id) == (1, 1, 1)
    stored = await connection.execute(
        text("SELECT response_body::text AS body FROM idempotency_keys WHERE key = 'k-1'")
    )
    assert stored.scalar_one() == '{"first":1,"answer":["k-1"]}'  # as sent, keys in order
    kept = await connection.execute(
        text("SELECT result FROM redemptions JOIN redemption_items ON id = redemption_id")
    )
    assert kept.scalar_one() == {"first": 1}  # the answer less what it only answers

    with pytest.raises(WriteRefused) as taken:
        await writes.record_redemption(redemption(code), answer(key_id, "k-1"))
    assert taken.value.reason == KEY_TAKEN
    assert await state(connection, code, key_id) == (1, 1, 1)


async def test_a_redeem_past_a_limit_writes_nothing(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-2", max_redemptions=1)
    writes = CheckoutWrites(connection)
    await writes.record_redemption(redemption(code, "ann", 5), answer(key_id, "k-1"))

    with pytest.raises(WriteRefused) as spent:
        await writes.record_redemption(redemption(code), answer(key_id, "k-2"))
    assert spent.value.reason == CODE_LIMIT
    # Neither the use, nor the redemption, nor the key: a retry with k-2 starts afresh.
    assert await state(connection, code, key_id) == (1, 1, 1)


@pytest.mark.parametrize("on_row", [False, True], ids=["counter rows", "own row"])
async def test_a_redeem_of_a_code_disabled_since_it_was_read_writes_nothing(
    factory: Factory, connection: AsyncConnection, key_id: UUID, on_row: bool
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-OFF", max_redemptions=5)
    if on_row:  # as pool, support and reward codes count their uses
        only = {"id": code.id}
        await connection.execute(text("DELETE FROM code_counters WHERE code_id = :id"), only)
        await connection.execute(text("UPDATE codes SET used = 0 WHERE id = :id"), only)
    switch = text("UPDATE codes SET disabled_at = :at WHERE id = :id")
    await connection.execute(switch, {"at": NOW, "id": code.id})
    writes = CheckoutWrites(connection)
    with pytest.raises(WriteRefused) as off:
        await writes.record_redemption(redemption(code), answer(key_id, "k-1"))
    # Read again, the code is refused as disabled (the engine's verdict).
    assert off.value.reason == CODE_LIMIT
    assert await state(connection, code, key_id) == (0, 0, 0)

    await connection.execute(switch, {"at": None, "id": code.id})
    await writes.record_redemption(redemption(code), answer(key_id, "k-1"))
    assert await state(connection, code, key_id) == (1, 1, 1)


async def test_a_redeem_of_two_codes_one_switched_off_since_is_a_limit_not_busy(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    """One code still taken, the other off: the statement says limit (read again, refuse as
    disabled), never busy (which would be retried until it gave up with a 503)."""
    campaign = await factory.campaign()
    kept = await factory.code(campaign, "PAIR-ON")
    off = await factory.code(campaign, "PAIR-OFF")
    await connection.execute(
        text("UPDATE codes SET disabled_at = :at WHERE id = :id"), {"at": NOW, "id": off.id}
    )
    both = replace(redemption(kept), code_ids=sorted([kept.id, off.id]))
    with pytest.raises(WriteRefused) as refused:
        await CheckoutWrites(connection).record_redemption(both, answer(key_id, "k-1"))
    assert refused.value.reason == CODE_LIMIT
    assert await state(connection, kept, key_id) == (0, 0, 0)


async def test_a_redeem_past_the_customer_limit_writes_nothing(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-3", max_redemptions=10)
    writes = CheckoutWrites(connection)
    await writes.record_redemption(redemption(code, "ann", 1), answer(key_id, "k-1"))

    with pytest.raises(WriteRefused) as spent:
        await writes.record_redemption(redemption(code, "ann", 1), answer(key_id, "k-2"))
    assert spent.value.reason == CUSTOMER_LIMIT
    assert await state(connection, code, key_id) == (1, 1, 1)
    await writes.record_redemption(redemption(code, "bob", 1), answer(key_id, "k-3"))
    assert await state(connection, code, key_id) == (2, 2, 2)


async def test_a_refusal_is_stored_with_its_key_once(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-4", max_redemptions=1)
    writes = CheckoutWrites(connection)
    await writes.store_answer(answer(key_id, "k-1", status=409))
    with pytest.raises(WriteRefused) as taken:
        await writes.record_redemption(redemption(code), answer(key_id, "k-1"))
    assert taken.value.reason == KEY_TAKEN
    with pytest.raises(WriteRefused):
        await writes.store_answer(answer(key_id, "k-1", status=409))
    assert await state(connection, code, key_id) == (0, 0, 1)


async def test_a_redeem_adds_to_its_campaign_budgets_within_their_caps_and_a_rollback_gives_back(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    campaign = await factory.campaign()
    code = await factory.code(campaign, "WRITE-BUDGET")
    await connection.execute(
        text(
            "INSERT INTO campaign_budgets (campaign_id, unit, cap) VALUES"
            " (:id, 'redemptions', 2), (:id, 'EUR', 150)"
        ),
        {"id": campaign.id},
    )

    def budgeted(amount: int) -> Any:
        plain = redemption(code)
        item = replace(
            plain.items[0], discount_amount=amount, budget_redemption=True, budget_amount=amount
        )
        takes = [(campaign.id, "EUR", amount), (campaign.id, "redemptions", 1)]
        return replace(plain, discount_amount=amount, items=[item], budget_takes=takes)

    async def used() -> dict[str, int]:
        rows = await connection.execute(
            text("SELECT unit, used FROM campaign_budgets WHERE campaign_id = :id"),
            {"id": campaign.id},
        )
        return {row.unit: row.used for row in rows}

    writes = CheckoutWrites(connection)
    first = budgeted(100)
    await writes.record_redemption(first, answer(key_id, "k-1"))
    assert await used() == {"redemptions": 1, "EUR": 100}
    with pytest.raises(WriteRefused) as over:
        await writes.record_redemption(budgeted(60), answer(key_id, "k-2"))
    assert over.value.reason == BUDGET_SPENT
    # Nothing of it was written: not the use, not the budgets, not the key.
    assert await used() == {"redemptions": 1, "EUR": 100}
    assert await state(connection, code, key_id) == (1, 1, 1)
    await writes.record_redemption(budgeted(50), answer(key_id, "k-2"))
    assert await used() == {"redemptions": 2, "EUR": 150}

    rolled = await writes.roll_back(first.id)
    assert rolled.redemption is not None
    assert await used() == {"redemptions": 1, "EUR": 50}


async def test_a_rollback_gives_back_its_uses_once_and_leaves_balances_to_the_transaction(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-5", max_redemptions=5)
    writes = CheckoutWrites(connection)
    plain, paid = redemption(code, "ann", 5), redemption(code, "ann", 5)
    await writes.record_redemption(plain, answer(key_id, "k-1"))
    await writes.record_redemption(paid, answer(key_id, "k-2"))
    usage = "SELECT redemption_count FROM customer_usages WHERE customer_id = 'ann'"
    assert (await connection.execute(text(usage))).scalar_one() == 2

    rolled = await writes.roll_back(plain.id)
    assert rolled.redemption is not None
    assert (rolled.redemption.id, rolled.redemption.status) == (plain.id, "rolled_back")
    assert rolled.redemption.rolled_back_at is not None
    assert (await state(connection, code, key_id))[0] == 1
    assert (await connection.execute(text(usage))).scalar_one() == 1
    again = await writes.roll_back(plain.id)
    assert (again.redemption, again.ledger) == (None, False)
    assert (await state(connection, code, key_id))[0] == 1

    # A gift card paid towards the other: its rollback refunds it, in a transaction.
    await connection.execute(
        text(
            """
            WITH card AS (
                INSERT INTO balance_accounts (kind, code, normalised_code, currency)
                VALUES ('gift_card', 'GC-1', 'GC-1', 'EUR') RETURNING id
            )
            INSERT INTO ledger_entries (account_id, kind, amount, redemption_id)
            SELECT id, 'payment', -100, :redemption FROM card
            """
        ),
        {"redemption": paid.id},
    )
    left = await writes.roll_back(paid.id)
    assert (left.redemption, left.ledger) == (None, True)
    assert (await state(connection, code, key_id))[0] == 1
    assert await writes.roll_back(uuid.uuid4()) == RolledBack(None, ledger=False)


async def test_a_redeem_pays_with_balance_codes_from_the_planned_lots_or_writes_nothing(
    factory: Factory, connection: AsyncConnection, key_id: UUID
) -> None:
    code = await factory.code(await factory.campaign(), "WRITE-6", max_redemptions=5)
    card = (
        await connection.execute(
            text(
                """
                WITH card AS (
                    INSERT INTO balance_accounts (kind, code, normalised_code, currency)
                    VALUES ('gift_card', 'GC-6', 'GC-6', 'EUR') RETURNING id
                ),
                issued AS (
                    INSERT INTO ledger_entries (account_id, kind, amount)
                    SELECT id, 'issue', 500 FROM card RETURNING id, account_id
                )
                INSERT INTO ledger_lots
                    (account_id, entry_id, source, amount, remaining, available_at, created_at)
                SELECT account_id, id, 'issue', 500, 500, now(), now() FROM issued
                RETURNING account_id, id
                """
            )
        )
    ).one()
    writes = CheckoutWrites(connection)
    lot = "SELECT remaining FROM ledger_lots WHERE id = :id"

    stale = NewPayment(uuid.uuid4(), card.account_id, [Take(card.id, 501)])
    with pytest.raises(WriteRefused) as changed:
        await writes.record_redemption(
            replace(redemption(code), payments=[stale]), answer(key_id, "k-1")
        )
    assert changed.value.reason == BALANCE_CHANGED
    assert (await connection.execute(text(lot), {"id": card.id})).scalar_one() == 500
    assert await state(connection, code, key_id) == (0, 0, 0)

    paying = replace(
        redemption(code), payments=[NewPayment(uuid.uuid4(), card.account_id, [Take(card.id, 300)])]
    )
    await writes.record_redemption(paying, answer(key_id, "k-1"))
    assert (await connection.execute(text(lot), {"id": card.id})).scalar_one() == 200
    entry = (
        await connection.execute(
            text(
                "SELECT e.kind, e.amount, e.redemption_id, a.lot_id, a.amount AS taken"
                " FROM ledger_entries AS e JOIN ledger_allocations AS a ON a.entry_id = e.id"
                " WHERE e.id = :id"
            ),
            {"id": paying.payments[0].entry_id},
        )
    ).one()
    assert tuple(entry) == ("payment", -300, paying.id, card.id, 300)
    assert await state(connection, code, key_id) == (1, 1, 1)


async def test_every_variant_of_the_redeem_statement_takes_the_same_parameters(
    connection: AsyncConnection,
) -> None:
    """Eight variants (with or without payments, budgets, period counters), one argument list:
    each must prepare and take the same 53 parameters, the payments' seven (empty when nothing
    is paid) before the cart's lines, the items' terms and the chosen shipping method."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    types = {}
    for variant, sql in REDEEM_STATEMENTS.items():
        prepared = await driver.prepare(sql)
        types[variant] = [parameter.name for parameter in prepared.get_parameters()]
    assert {len(names) for names in types.values()} == {53}
    assert len({tuple(names) for names in types.values()}) == 1
    assert types[(False, False, False)][50:] == ["jsonb", "jsonb[]", "text"]
