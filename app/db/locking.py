"""Locks beyond row locks, and the order in which a transaction takes them.

Lock order: code counter rows by code id, then customer usage rows by (subject, subject_id),
then campaign budget rows by (campaign_id, unit), then period counters by their key (text in
"C" order, as Python sorts it).
Redeem takes them in that order, and never queues on a counter row: it takes one nobody holds
(SKIP LOCKED) or pauses and tries again (db/repositories/codes.py). Rollback first claims its
own redemption row (which no redeem ever waits on) and then takes the same order, a code's
counter rows in slot order, so redeems and rollbacks cannot deadlock each other. A redeem
locks the code's own row last (its items' foreign key takes a key-share lock on it), so
deleting a code locks its counter rows in slot order first and its row after them.
"""

from enum import IntEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


class LockNamespace(IntEnum):
    BOOTSTRAP_ADMIN = 1


async def advisory_xact_lock(session: AsyncSession, namespace: LockNamespace, key: int) -> None:
    """Hold a transaction-scoped advisory lock on (namespace, key) until commit or rollback."""
    await session.execute(select(func.pg_advisory_xact_lock(int(namespace), key)))
