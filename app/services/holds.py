"""Holds: what an order's redemption consumes (code uses, customer slots, campaign budgets,
period counters, what its gift cards and wallets pay), taken while its payment runs and kept
for it until the hold ends. A hold is a redemption recorded 'held' by the same statement as any
redemption, so every limit counts it; redeeming it takes nothing again; releasing it, or its
lapse, gives it all back, payments into the lots they came from (db/repositories/
checkout_writes.py, services/lapses.py)."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.stacking import CodePolicy
from app.services import balances
from app.services.checkout_results import Kept, Redemption, kept_from_stored
from app.services.errors import HoldEnded, HoldNotFound
from app.services.idempotency import Written
from app.services.lapses import let_lapse
from app.services.redemptions import (
    RedeemTerms,
    lapse_with_refunds,
    redeem,
    redemption_of,
    rollback_redemption,
)
from app.services.validations import CheckoutRequest
from app.settings import GuessSettings


@dataclass(frozen=True, slots=True)
class HoldTerms:
    order_id: str
    idempotency_key: str
    request_hash: bytes
    lasts: timedelta
    code_policy: CodePolicy = CodePolicy.SKIP_STACKED
    cashback_pending: timedelta = timedelta(0)
    balance_codes: tuple[str, ...] = ()
    """Gift cards and wallets whose payments the hold takes (given back if it ends)."""


async def hold(
    statements: StatementUnitOfWork,
    uow: UnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    terms: HoldTerms,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
) -> Written[Redemption]:
    """Take what the order's redemption would take, until now + terms.lasts, exactly once per
    Idempotency-Key; refused like a redeem (409) when it cannot all be taken."""
    redeem_terms = RedeemTerms(
        order_id=terms.order_id,
        idempotency_key=terms.idempotency_key,
        request_hash=terms.request_hash,
        cashback_pending=terms.cashback_pending,
        code_policy=terms.code_policy,
        held_until=now + terms.lasts,
        balance_codes=terms.balance_codes,
    )
    return await redeem(
        statements, uow, raw_key, request, redeem_terms, now, max_discounts, guesses
    )


async def redeem_hold(
    uow: UnitOfWork, hold_id: UUID, now: datetime, cashback_pending: timedelta
) -> Redemption:
    """The hold as a redemption, taking nothing again; its cashback is credited now. Redeeming
    a redeemed hold again returns it. HoldEnded when it was released or lapsed, or when one of
    its campaigns is paused and does not honour its holds."""
    async with uow:
        record = await uow.redemptions.get(hold_id, for_update=True)
        if record is None or record.expires_at is None:
            raise HoldNotFound(f"No hold has id {hold_id}.")
        if record.status == "succeeded":
            return redemption_of(record)
        if record.status != "held":
            raise HoldEnded(f"The hold was {record.status}: it holds nothing any more.")
        if record.expires_at <= now:
            raise HoldEnded(
                f"The hold ended at {record.expires_at.isoformat()}: hold or redeem again."
            )
        items = await uow.redemptions.items(hold_id)
        paused = await uow.campaigns.refusing_holds(sorted({i.campaign_id for i in items}))
        if paused:
            names = ", ".join(sorted(c.name for c in paused))
            raise HoldEnded(f"Paused, and not honouring their holds: {names}.")
        kept = kept_from_stored(record.result)
        cashback = kept.validation.cashback_amount
        if cashback > 0 and record.customer_id is not None:
            available_at = now + cashback_pending
            wallet = await balances.wallet_of(uow, record.customer_id, kept.validation.currency)
            credit = balances.cashback_credit(wallet, cashback, available_at)
            await balances.credit_cashback(
                uow, wallet, cashback, redemption_id=hold_id, available_at=available_at, now=now
            )
            kept = Kept(kept.validation, replace(kept.settlement, cashback_credit=credit))
        redeemed = await uow.redemptions.redeem_hold(hold_id, kept.as_stored())
        await uow.commit()
    return redemption_of(redeemed)


async def release_hold(
    statements: StatementUnitOfWork,
    uow: UnitOfWork,
    hold_id: UUID,
    now: datetime,
    api_key_id: UUID | None,
) -> Redemption:
    """Give back everything the hold took; releasing again returns it unchanged. A redeemed
    hold is a redemption: HoldEnded (roll it back instead)."""
    async with statements:
        current = await statements.checkout.redemption(hold_id)
    if current is None or current.expires_at is None:
        raise HoldNotFound(f"No hold has id {hold_id}.")
    released = await rollback_redemption(statements, uow, hold_id, now, api_key_id, holds_only=True)
    if released.status in {"succeeded", "rolled_back"}:
        raise HoldEnded(
            f"The hold was redeemed: roll the redemption back instead "
            f"(POST /v1/redemptions/{hold_id}/rollback)."
        )
    return released


async def lapse_run(
    statements: StatementUnitOfWork, uow: UnitOfWork, now: datetime, limit: int
) -> int:
    """Release up to limit holds past their end, those that paid with a balance in a
    transaction each (their payments go back to their lots); how many this run released."""
    async with statements:
        run = await let_lapse(statements, now, limit)
    released = run.released
    for hold_id in run.in_transaction:
        lapsed = await lapse_with_refunds(uow, now, hold_id)
        released += lapsed.status == "expired"
    return released
