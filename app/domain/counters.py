"""How a code's use limit is spread over several counter rows.

A redeem takes one use from any row with room left, so concurrent redeems of one popular code
lock different rows instead of queueing on one. The rows' capacities add up to the code's
limit, and each row is guarded on its own, so the code can never pass its limit.
"""

# Enough rows that the redeems one service holds open at once (its connection pools) seldom
# find them all taken.
COUNTER_SLOTS = 32


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
