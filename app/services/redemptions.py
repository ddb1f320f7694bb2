"""Redeem and roll back: the only writers of usage counters.

A redeem is one transaction: claim the idempotency key, re-evaluate, consume every limit with a
conditional statement, record the redemption, store the response, commit. A refusal is stored
under the key too, so a retry gets the same answer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from app import metrics
from app.db.repositories.redemptions import RedemptionItemRecord, RedemptionRecord
from app.db.uow import UnitOfWork
from app.domain.engine import Evaluation, message_for
from app.domain.guesses import blocking, failed_guesses
from app.domain.reasons import Reason
from app.domain.rules import Promotion
from app.services import balances, loyalty
from app.services.errors import RedemptionNotFound, RedemptionRefused
from app.services.guesses import count_failed_guesses, guess_subjects, refuse_if_blocked
from app.services.idempotency import IdempotencyClaim, claim_or_replay
from app.services.validations import CheckoutRequest, evaluate_request, evaluation_body
from app.settings import GuessSettings

# How often a redeem re-evaluates after losing a race for a limit before it gives up.
_CONSUME_ATTEMPTS = 3
_REFUSED_STATUS = 409
_CREATED_STATUS = 201


@dataclass(frozen=True, slots=True)
class RedeemOutcome:
    body: dict[str, Any]
    replayed: bool


def redemption_body(record: RedemptionRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "status": record.status,
        "order_id": record.order_id,
        "created_at": _timestamp(record.created_at),
        "rolled_back_at": _timestamp(record.rolled_back_at) if record.rolled_back_at else None,
        # Redemptions stored before balance codes existed paid nothing with them.
        "balance_codes": [],
        "payments": [],
        "paid_amount": 0,
        "amount_due": record.result["total_amount"],
        "cashback_credit": None,
        **record.result,
    }


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a 'Z', as every other response renders timestamps."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _refusal(body: dict[str, Any], *, replayed: bool = False) -> RedemptionRefused:
    balance_codes = body.get("balance_codes", [])
    refused = [code for code in [*body["codes"], *balance_codes] if not code["valid"]]
    reasons = ", ".join(f"{code['code']}: {code['reason']}" for code in refused)
    return RedemptionRefused(
        f"Not redeemed ({reasons}).",
        replayed=replayed,
        codes=body["codes"],
        balance_codes=balance_codes,
    )


async def _consume(uow: UnitOfWork, applied: list[Promotion], customer_id: str | None) -> bool:
    """Take one use of every applied code and customer limit, in lock order (db/locking.py).
    False, with nothing taken, when any limit ran out since the evaluation."""
    async with uow.savepoint() as savepoint:
        code_ids = sorted(p.code_id for p in applied if p.code_id is not None)
        for code_id in code_ids:
            if not await uow.codes.consume_use(code_id):
                await savepoint.rollback()
                return False
        if customer_id is not None:
            for subject, subject_id, limit in sorted(_customer_limits(applied)):
                taken = await uow.redemptions.consume_customer_use(
                    subject, subject_id, customer_id, limit
                )
                if not taken:
                    await savepoint.rollback()
                    return False
    return True


async def _consume_and_plan(
    uow: UnitOfWork,
    applied: list[Promotion],
    request: CheckoutRequest,
    balance_codes: tuple[str, ...],
    due: int,
    now: datetime,
) -> balances.PaymentPlan | None:
    """Take the limits, then lock the balance codes and plan what they pay. None, with nothing
    taken, when a limit ran out; a plan with a refused code also gives back the uses taken."""
    if not balance_codes:
        taken = await _consume(uow, applied, request.customer_id)
        return balances.NO_PAYMENTS if taken else None
    async with uow.savepoint() as attempt:
        if not await _consume(uow, applied, request.customer_id):
            return None
        plan = await balances.plan_payments(
            uow,
            balance_codes,
            customer_id=request.customer_id,
            currency=request.cart.currency,
            due=due,
            now=now,
        )
        if not plan.is_valid:
            await attempt.rollback()
        return plan


def _customer_limits(applied: list[Promotion]) -> list[tuple[str, UUID, int]]:
    limits: list[tuple[str, UUID, int]] = []
    for promotion in applied:
        usage = promotion.usage
        if promotion.code_id is not None and usage.per_customer_limit is not None:
            limits.append(("code", promotion.code_id, usage.per_customer_limit))
        if usage.campaign_per_customer_limit is not None:
            limits.append(("campaign", promotion.campaign_id, usage.campaign_per_customer_limit))
    return limits


def _items(evaluation: Evaluation, customer_id: str | None) -> list[RedemptionItemRecord]:
    counted = customer_id is not None
    return [
        RedemptionItemRecord(
            position=position,
            code_id=application.promotion.code_id,
            campaign_id=application.promotion.campaign_id,
            discount_amount=application.discount_amount,
            shipping_discount_amount=application.shipping_discount_amount,
            cashback_amount=application.cashback_amount,
            counted_code_customer=counted
            and application.promotion.code_id is not None
            and application.promotion.usage.per_customer_limit is not None,
            counted_campaign_customer=counted
            and application.promotion.usage.campaign_per_customer_limit is not None,
        )
        for position, application in enumerate(evaluation.applied)
    ]


async def redeem(
    uow: UnitOfWork,
    request: CheckoutRequest,
    order_id: str | None,
    claim: IdempotencyClaim,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
    *,
    balance_codes: tuple[str, ...] = (),
    cashback_pending: timedelta = timedelta(0),
) -> RedeemOutcome:
    """Consume every code in the request for this order, all or nothing, exactly once per
    idempotency key. No limit is ever exceeded: each is taken by a conditional UPDATE or a
    guarded upsert, and nothing is recorded unless all of them were taken. Balance codes then
    pay towards the total after discounts (their accounts locked, so a balance is never spent
    twice), and cashback is credited to the customer's wallet."""
    async with uow:
        stored = await claim_or_replay(uow, claim)
        if stored is not None:
            if stored.status == _REFUSED_STATUS:
                raise _refusal(stored.body, replayed=True)
            # The redemption as it is now, not as it was: one rolled back since is shown
            # rolled back, never as a discount still to honour.
            current = await uow.redemptions.get(UUID(stored.body["id"]))
            assert current is not None, "a stored redemption is never deleted"
            return RedeemOutcome(body=redemption_body(current), replayed=True)

        counted = guess_subjects(claim.api_key_id, request.customer_id, request.client_ip, guesses)
        if request.codes or balance_codes:
            blocked_until = await uow.guesses.blocked_until(blocking(counted), now)
            refuse_if_blocked(blocked_until, now)

        for _ in range(_CONSUME_ATTEMPTS):
            evaluation = await evaluate_request(uow, request, now, max_discounts)
            body = evaluation_body(evaluation, request.customer_id)
            if not body["valid"]:
                failures = failed_guesses(evaluation)
                if failures:
                    await count_failed_guesses(
                        uow.guesses.record, claim.api_key_id, counted, failures, now, guesses
                    )
                break
            applied = [application.promotion for application in evaluation.applied]
            plan = await _consume_and_plan(
                uow, applied, request, balance_codes, evaluation.total_amount, now
            )
            if plan is not None:
                body = {**body, "balance_codes": list(plan.verdicts)}
                if not plan.is_valid:
                    if plan.unknown:
                        await count_failed_guesses(
                            uow.guesses.record,
                            claim.api_key_id,
                            counted,
                            plan.unknown,
                            now,
                            guesses,
                        )
                    body["valid"] = False
                    break
                redemption_id = uuid4()
                wallet = None
                credit = None
                if evaluation.cashback_amount > 0 and request.customer_id is not None:
                    wallet = await balances.wallet_of(
                        uow, request.customer_id, request.cart.currency
                    )
                    credit = balances.cashback_credit(
                        wallet, evaluation.cashback_amount, now + cashback_pending
                    )
                result = {
                    **body,
                    "payments": [payment.body() for payment in plan.payments],
                    "paid_amount": plan.paid,
                    "amount_due": evaluation.total_amount - plan.paid,
                    "cashback_credit": credit,
                }
                record = await uow.redemptions.insert(
                    redemption_id=redemption_id,
                    api_key_id=claim.api_key_id,
                    customer_id=request.customer_id,
                    order_id=order_id,
                    currency=request.cart.currency,
                    subtotal_amount=evaluation.subtotal_amount,
                    discount_amount=evaluation.discount_amount,
                    shipping_amount=evaluation.shipping_amount,
                    shipping_discount_amount=evaluation.shipping_discount_amount,
                    cashback_amount=evaluation.cashback_amount,
                    result=result,
                    items=_items(evaluation, request.customer_id),
                )
                await balances.record_payments(uow, plan, redemption_id)
                if wallet is not None:
                    await balances.credit_cashback(
                        uow,
                        wallet,
                        evaluation.cashback_amount,
                        redemption_id=redemption_id,
                        available_at=now + cashback_pending,
                        now=now,
                    )
                response = redemption_body(record)
                await uow.idempotency.store(claim.api_key_id, claim.key, _CREATED_STATUS, response)
                await uow.commit()
                return RedeemOutcome(body=response, replayed=False)
        else:
            # Lost every race for a limit; report it as the limit it lost.
            body = _mark_limit_reached(body)
        await uow.idempotency.store(claim.api_key_id, claim.key, _REFUSED_STATUS, body)
        await uow.commit()
    raise _refusal(body)


def _mark_limit_reached(body: dict[str, Any]) -> dict[str, Any]:
    reason = Reason.LIMIT_REACHED
    codes = [
        {**code, "valid": False, "reason": reason.value, "message": message_for(reason)}
        for code in body["codes"]
    ]
    return {**body, "valid": False, "codes": codes}


async def get_redemption(uow: UnitOfWork, redemption_id: UUID) -> dict[str, Any]:
    async with uow:
        record = await uow.redemptions.get(redemption_id)
    if record is None:
        raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
    return redemption_body(record)


async def rollback_redemption(
    uow: UnitOfWork, redemption_id: UUID, now: datetime, api_key_id: UUID | None = None
) -> dict[str, Any]:
    """Give back exactly what the redemption took, once: code and customer uses, what balance
    codes paid (into the lots it came from), the cashback it credited, and the points its order
    earned. Rolling back again returns the rolled-back redemption and changes nothing."""
    async with uow:
        record = await uow.redemptions.mark_rolled_back(redemption_id)
        if record is None:
            existing = await uow.redemptions.get(redemption_id)
            if existing is None:
                raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
            return redemption_body(existing)
        items = await uow.redemptions.items(redemption_id)
        for item in items:
            if item.code_id is not None:
                await uow.codes.release_use(item.code_id)
        if record.customer_id is not None:
            usages = sorted(
                [
                    ("code", item.code_id)
                    for item in items
                    if item.counted_code_customer and item.code_id is not None
                ]
                + [
                    ("campaign", item.campaign_id)
                    for item in items
                    if item.counted_campaign_customer
                ]
            )
            for subject, subject_id in usages:
                await uow.redemptions.release_customer_use(subject, subject_id, record.customer_id)
        await balances.reverse_redemption_balances(uow, redemption_id, now, api_key_id)
        if record.order_id is not None:
            await loyalty.reverse_order_points(
                uow, record.order_id, now, redemption_id=redemption_id, api_key_id=api_key_id
            )
        await uow.commit()
    metrics.rollback_performed()
    return redemption_body(record)
