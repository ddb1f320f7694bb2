"""Expiry: everything past its expiry leaves the balances in the ledger too."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.db.uow import UnitOfWork

# Accounts whose expired lots one expiry transaction empties.
EXPIRY_BATCH = 500


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    accounts: int
    lots: int
    amount: int


async def expire(uow: UnitOfWork, now: datetime, batch: int = EXPIRY_BATCH) -> ExpiryRun:
    """Write an expire entry for everything past its expiry (points, and gift-card or wallet
    lots that have one), a batch of accounts per transaction. Safe to run twice or at once:
    accounts are locked and emptied lots are not found again, so the second run finds
    nothing."""
    accounts = lots = amount = 0
    while True:
        async with uow:
            expired = await uow.ledger.expire_batch(now, batch)
            await uow.commit()
        if not expired:
            return ExpiryRun(accounts=accounts, lots=lots, amount=amount)
        accounts += len(expired)
        lots += sum(len(item.takes) for item in expired)
        amount += sum(item.amount for item in expired)


@dataclass(frozen=True, slots=True)
class NoticeRun:
    members: int
    points: int


async def announce_expiring(uow: UnitOfWork, now: datetime, within: timedelta) -> NoticeRun:
    """A points.expiring event for each member with points expiring within `within` that no
    run announced before (each lot once, whatever the window of later runs)."""
    async with uow:
        members, points = await uow.ledger.announce_expiring(now, now + within)
        await uow.commit()
    return NoticeRun(members, points)
