"""Where a code's uses are counted.

A named code may be redeemed by thousands at once, so its limit is spread over several counter
rows: a redeem takes one use from any row with room left, and concurrent redeems of one popular
code lock different rows instead of queueing on one. The rows' capacities add up to the code's
limit, and each row is guarded on its own, so the code can never pass its limit.

A code made for one customer (a pool code, a support or reward code) never sees a crowd: its
uses are counted on its own row, which spares a pool of a million codes a million more rows.
"""

from collections.abc import Sequence

from app.domain.campaigns import CodeSource

_COUNTED_ON_ROW = frozenset(
    {CodeSource.GENERATED, CodeSource.IMPORTED, CodeSource.SUPPORT, CodeSource.REWARD}
)

# Enough rows that the redeems one service holds open at once (its connection pools) seldom
# find them all taken.
COUNTER_SLOTS = 32


def counts_on_row(source: CodeSource) -> bool:
    """True when codes from source count their uses on their own row, not in counter rows."""
    return source in _COUNTED_ON_ROW


def split_limit(limit: int | None, slots: int = COUNTER_SLOTS) -> tuple[int | None, ...]:
    """Capacities for a code's counter rows: they add up to limit exactly, as evenly as
    integers allow (the first `limit % n` rows hold one more), and none is zero, so a limit
    below `slots` gets one row per use. None (unlimited) gives `slots` unlimited rows."""
    if slots < 1:
        raise ValueError("a code needs at least one counter row")
    if limit is None:
        return (None,) * slots
    if limit < 1:
        raise ValueError("a limit is a positive number of uses")
    rows = min(slots, limit)
    share, extra = divmod(limit, rows)
    return tuple(share + (1 if row < extra else 0) for row in range(rows))


def respread(
    used: Sequence[int], limit: int | None, slots: int = COUNTER_SLOTS
) -> tuple[int | None, ...]:
    """New capacities, by slot, for a code whose counter rows have taken `used` uses (by slot;
    a slot without a row has taken none) when its limit becomes `limit`: each row keeps room
    for what it took, the room left is spread as evenly as split_limit spreads it, and the
    capacities add up to limit. A 0 is a slot that holds nothing (a row that took nothing goes).
    There are at least as many slots as split_limit would give the new limit, so a code whose
    limit rises gets the rows that spare a crowd from queueing. ValueError when limit is below
    what was taken."""
    rows = max(len(used), slots if limit is None else min(slots, limit))
    taken = [*used, *([0] * (rows - len(used)))]
    if limit is None:
        return (None,) * rows
    total = sum(taken)
    if limit < total:
        raise ValueError(f"a limit of {limit} is below the {total} uses already taken")
    share, extra = divmod(limit - total, rows)
    return tuple(took + share + (1 if slot < extra else 0) for slot, took in enumerate(taken))
