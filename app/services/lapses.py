"""Holds past their end give back what they held: a sweep a scheduler calls, and any request
whose codes or promotions were refused for capacity, before it answers."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

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
        Reason.PERIOD_LIMIT_REACHED,
        Reason.BUDGET_EXHAUSTED,
        Reason.BUDGET_EXCEEDED,
    }
)
# How many lapsed holds one request releases before it reads again.
LAPSED_PER_REQUEST = 50


def held_back(evaluation: Evaluation) -> tuple[list[UUID], list[UUID]]:
    """The codes and campaigns the evaluation refused for capacity, which a hold past its end
    may still be holding: (code ids, campaign ids)."""
    codes: set[UUID] = set()
    campaigns: set[UUID] = set()
    refusals = [v.refusal for v in evaluation.verdicts] + list(evaluation.skipped)
    for refusal in refusals:
        if refusal is None or refusal.reason not in _HELD_BACK or refusal.promotion is None:
            continue
        campaigns.add(refusal.promotion.campaign_id)
        if refusal.promotion.code_id is not None:
            codes.add(refusal.promotion.code_id)
    return sorted(codes), sorted(campaigns)


# Releases a hold that paid with a balance, in a transaction (services/redemptions.py).
InTransaction = Callable[[UUID], Awaitable[object]]


async def release_held_back(
    statements: StatementUnitOfWork,
    evaluation: Evaluation,
    now: datetime,
    in_transaction: InTransaction | None = None,
) -> bool:
    """Release the holds past their end that hold what the evaluation was refused for; True
    when there were any (read again: once their release is committed, by this request or a
    concurrent one, what they held is free). No query when nothing was refused for capacity.
    Holds that paid with a balance are released by in_transaction, when given (else by the
    next request that can, or the sweep)."""
    codes, campaigns = held_back(evaluation)
    if not codes and not campaigns:
        return False
    run = await let_lapse(statements, now, LAPSED_PER_REQUEST, codes=codes, campaigns=campaigns)
    if in_transaction is not None:
        for hold_id in run.in_transaction:
            await in_transaction(hold_id)
    return run.found > 0


@dataclass(frozen=True, slots=True)
class LapseRun:
    found: int
    """Holds past their end that were still held when read."""
    released: int
    """Of those, the ones this run released (a concurrent run may have taken the others: once
    its release is committed, theirs is given back too)."""
    in_transaction: tuple[UUID, ...] = ()
    """Those that paid with a balance: their refunds need a transaction."""


async def let_lapse(
    statements: StatementUnitOfWork,
    now: datetime,
    limit: int,
    *,
    codes: Sequence[UUID] | None = None,
    campaigns: Sequence[UUID] | None = None,
) -> LapseRun:
    """Release up to limit holds past their end ('expired'), soonest ended first; with codes
    or campaigns, only those that hold one of them. Each goes by the rollback statement, which
    gives back what it held only if it is still held and has ended by now (a concurrent release
    of the same hold waits for the other's, then finds it ended): safe to run twice and at
    once."""
    found = await statements.checkout.lapsed_holds(now, limit, codes=codes, campaigns=campaigns)
    released = 0
    ledger = []
    for hold_id in found:
        try:
            lapsed = await patiently(partial(statements.writes.roll_back, hold_id, lapsed_by=now))
        except CodeBusyError:
            continue  # a later run takes it
        released += lapsed.redemption is not None
        if lapsed.redemption is None and lapsed.ledger:
            ledger.append(hold_id)
    return LapseRun(len(found), released, tuple(ledger))
