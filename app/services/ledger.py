"""What points and money balances share in a use case: taking a credit back."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from app.db.uow import UnitOfWork
from app.domain.ledger import Account, Entry, EntryKind, NewEntry, plan_reversal, total


async def reverse_credit(
    uow: UnitOfWork,
    account: Account,
    credit: Entry,
    own_lots: Sequence[UUID],
    now: datetime,
    *,
    allow_debt: bool,
    order_id: str | None = None,
    redemption_id: UUID | None = None,
    api_key_id: UUID | None = None,
    amount: int | None = None,
    completes: bool = True,
) -> Entry:
    """Inside the caller's transaction, with account locked: take credit's amount (or amount
    of it: a partial return) back, first from its own lots (whatever is left of them), then
    other pending lots, then spendable ones soonest to expire first. What is still missing
    becomes debt when allow_debt, and is forgiven otherwise; the reverse entry says which, and
    its allocations say where from. completes: this takes back the last of the credit, and
    its own lots stop counting (towards tiers) as credited; otherwise they count that much
    less."""
    wanted = credit.amount if amount is None else amount
    plan = plan_reversal(await uow.ledger.open_lots(account.id), own_lots, wanted, now)
    if completes:
        await uow.ledger.mark_reversed(own_lots, now)
    else:
        await uow.ledger.take_back(own_lots, wanted)
    debt_added = plan.shortfall if allow_debt else 0
    if debt_added:
        await uow.ledger.set_debt(account.id, account.debt + debt_added)
    return await uow.ledger.debit(
        account.id,
        NewEntry(
            kind=EntryKind.REVERSE,
            amount=-(total(plan.takes) + debt_added),
            order_id=order_id,
            redemption_id=redemption_id,
            api_key_id=api_key_id,
            details={
                "reverses": str(credit.id),
                "taken": total(plan.takes),
                "debt_added": debt_added,
                "forgiven": plan.shortfall - debt_added,
            },
        ),
        plan.takes,
    )
