"""Where a code's uses are counted.

A named code may be redeemed by thousands at once, so its limit is spread over several counter
rows: a redeem takes one use from any row with room left, and concurrent redeems of one popular
code lock different rows instead of queueing on one. The rows' capacities add up to the code's
limit, and each row is guarded on its own, so the code can never pass its limit.

A code made for one customer (a pool code, a support or reward code) never sees a crowd: its
uses are counted on its own row, which spares a pool of a million codes a million more rows.
"""

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
