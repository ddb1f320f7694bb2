"""The ledger's two writes, each one statement: a credit (its entry with the lot it opens, or a
refund put back into the lots it came from) and a debit (planned takes, the entry, the
allocations), which takes all or nothing."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import SessionFactory
from app.db.uow import UnitOfWork
from app.domain.ledger import Account, AccountKind, EntryKind, NewEntry, NewLot, Take

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


async def gift_card(sessionmaker: SessionFactory, code: str) -> Account:
    async with UnitOfWork(sessionmaker) as uow:
        account = await uow.ledger.insert_balance_code(
            kind=AccountKind.GIFT_CARD,
            code=code,
            normalised_code=code,
            currency="EUR",
            customer_id=None,
            expires_at=None,
        )
        await uow.commit()
    assert account is not None
    return account


async def lots(connection: AsyncConnection, account: Account) -> dict[UUID, int]:
    rows = await connection.execute(
        text("SELECT id, remaining FROM ledger_lots WHERE account_id = :id"), {"id": account.id}
    )
    return {row.id: row.remaining for row in rows}


async def issue(sessionmaker: SessionFactory, account: Account, amount: int) -> UUID:
    """A credit of amount with its lot; the lot's id."""
    async with UnitOfWork(sessionmaker) as uow:
        entry = await uow.ledger.credit(
            account.id,
            NewEntry(kind=EntryKind.ISSUE, amount=amount),
            NOW,
            lot=NewLot(amount, amount, NOW, None),
        )
        found = await uow.ledger.lots_of_entries([entry.id])
        await uow.commit()
    [lot_id] = found[entry.id]
    return lot_id


async def test_a_credit_opens_its_lot_and_a_debit_takes_from_lots_with_allocations(
    sessionmaker: SessionFactory, connection: AsyncConnection
) -> None:
    card = await gift_card(sessionmaker, "LEDGER-1")
    first, second = await issue(sessionmaker, card, 500), await issue(sessionmaker, card, 300)

    async with UnitOfWork(sessionmaker) as uow:
        takes = [Take(first, 500), Take(second, 100)]
        entry = await uow.ledger.debit(
            card.id, NewEntry(kind=EntryKind.PAYMENT, amount=-600, details={"n": 1}), takes
        )
        allocations = await uow.ledger.allocations([entry.id])
        summary = await uow.ledger.summary(card.id, NOW, timedelta(0))
        await uow.commit()

    assert (entry.kind, entry.amount, entry.details) == (EntryKind.PAYMENT, -600, {"n": 1})
    assert sorted(allocations[entry.id], key=lambda t: t.amount) == [
        Take(second, 100),
        Take(first, 500),
    ]
    assert await lots(connection, card) == {first: 0, second: 200}
    assert summary.available == 200


async def test_a_debit_that_a_lot_cannot_cover_takes_nothing(
    sessionmaker: SessionFactory, connection: AsyncConnection
) -> None:
    card = await gift_card(sessionmaker, "LEDGER-2")
    first, second = await issue(sessionmaker, card, 500), await issue(sessionmaker, card, 300)
    other = await gift_card(sessionmaker, "LEDGER-3")
    elsewhere = await issue(sessionmaker, other, 900)

    for takes in (
        [Take(first, 100), Take(second, 301)],  # more than the lot holds
        [Take(first, 100), Take(elsewhere, 50)],  # another account's lot
    ):
        with pytest.raises(DBAPIError, match="a lot changed under a locked account"):
            async with UnitOfWork(sessionmaker) as uow:
                await uow.ledger.debit(card.id, NewEntry(kind=EntryKind.PAYMENT, amount=-1), takes)
        assert await lots(connection, card) == {first: 500, second: 300}
        assert await lots(connection, other) == {elsewhere: 900}
    entries = await connection.execute(
        text("SELECT kind FROM ledger_entries WHERE account_id = :id"), {"id": card.id}
    )
    assert sorted(row.kind for row in entries) == ["issue", "issue"]


async def test_a_refund_puts_back_exactly_what_was_taken_where_it_was_taken(
    sessionmaker: SessionFactory, connection: AsyncConnection
) -> None:
    card = await gift_card(sessionmaker, "LEDGER-4")
    first, second = await issue(sessionmaker, card, 500), await issue(sessionmaker, card, 300)
    takes = [Take(first, 500), Take(second, 50)]
    async with UnitOfWork(sessionmaker) as uow:
        await uow.ledger.debit(card.id, NewEntry(kind=EntryKind.PAYMENT, amount=-550), takes)
        refund = await uow.ledger.credit(
            card.id, NewEntry(kind=EntryKind.REFUND, amount=550), NOW, back_into=takes
        )
        allocations = await uow.ledger.allocations([refund.id])
        opened = await uow.ledger.lots_of_entries([refund.id])
        await uow.commit()
    assert await lots(connection, card) == {first: 500, second: 300}
    assert sorted(allocations[refund.id], key=lambda t: t.amount) == sorted(
        takes, key=lambda t: t.amount
    )
    assert opened == {refund.id: []}  # a refund opens no lot of its own


async def test_a_credit_that_a_debt_took_whole_keeps_its_lot_empty(
    sessionmaker: SessionFactory, connection: AsyncConnection
) -> None:
    card = await gift_card(sessionmaker, "LEDGER-5")
    async with UnitOfWork(sessionmaker) as uow:
        entry = await uow.ledger.credit(
            card.id,
            NewEntry(kind=EntryKind.TOP_UP, amount=200),
            NOW,
            lot=NewLot(200, 0, NOW + timedelta(days=1), NOW + timedelta(days=30)),
        )
        await uow.commit()
    [(lot_id, remaining)] = (await lots(connection, card)).items()
    row = (
        await connection.execute(
            text("SELECT entry_id, amount, source, available_at FROM ledger_lots WHERE id = :id"),
            {"id": lot_id},
        )
    ).one()
    assert (row.entry_id, row.amount, row.source, remaining) == (entry.id, 200, "top_up", 0)
    assert row.available_at == NOW + timedelta(days=1)
