"""Holds past their end give back what they held: a sweep a scheduler calls, and any request
whose codes or promotions were refused for capacity, before it answers."""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from app.db.errors import CodeBusyError
from app.db.uow import StatementUnitOfWork
from app.domain.engine import Evaluation
from app.domain.reasons import Reason
from app.services.patience import patiently

# Verdicts that a lapsed hold may be behind: what it still holds counts against them.
_HELD_BACK = frozenset(
    {
        Reason.LIMIT_REACHED,
        Reason.CUSTOMER_LIMIT_REACHED,
        Reason.BUDGET_EXHAUSTED,
        Reason.BUDGET_EXCEEDED,
    }
)
# How many lapsed holds one request releases before it reads again.
LAPSED_PER_REQUEST = 50


def held_back(evaluation: Evaluation) -> bool:
    """Whether a requested code or automatic promotion was refused for capacity, which a hold
    past its end may still be holding."""
    refusals = [v.reason for v in evaluation.verdicts] + [s.reason for s in evaluation.skipped]
    return any(reason in _HELD_BACK for reason in refusals)


@dataclass(frozen=True, slots=True)
class LapseRun:
    found: int
    """Holds past their end that were still held when read."""
    released: int
    """Of those, the ones this run released (a concurrent run may have taken the others: once
    its release is committed, theirs is given back too)."""


async def let_lapse(statements: StatementUnitOfWork, now: datetime, limit: int) -> LapseRun:
    """Release up to limit holds past their end ('expired'), each by the rollback statement,
    which gives back what it held only if it is still held and has ended by now (a concurrent
    release of the same hold waits for the other's, then finds it ended): safe to run twice and
    at once."""
    found = await statements.checkout.lapsed_holds(now, limit)
    released = 0
    for hold_id in found:
        try:
            lapsed = await patiently(partial(statements.writes.roll_back, hold_id, lapsed_by=now))
        except CodeBusyError:
            continue  # a later run takes it
        released += lapsed.redemption is not None
    return LapseRun(len(found), released)
