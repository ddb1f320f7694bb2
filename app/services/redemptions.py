"""Redeem and roll back: the only writers of usage counters.

A redeem reads (the key, the Idempotency-Key's stored answer, whether the customer or address is
blocked, the codes: one statement), evaluates, then writes in one statement that claims the
Idempotency-Key, consumes every limit with a guarded write, records the redemption and stores the
answer, or does nothing at all (db/repositories/checkout_writes.py): two round trips, three with
balance codes (gift cards, wallets: their lots are read once the total is known). A redeem that
credits cashback runs as one transaction instead, since the wallet may have to be made first;
so does one whose balances kept changing under it. Either way a refusal is stored under the key
too, so a retry gets the same answer. A hold is a redemption recorded 'held' (services/holds.py).

"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from app import metrics
from app.db.errors import CodeBusyError
from app.db.repositories.checkout_reads import Guessers
from app.db.repositories.checkout_writes import (
    BALANCE_CHANGED,
    BUDGET_SPENT,
    CODE_LIMIT,
    CUSTOMER_LIMIT,
    KEY_TAKEN,
    PERIOD_LIMIT,
    Answer,
    NewPayment,
    NewRedemption,
    WriteRefused,
)
from app.db.repositories.idempotency import StoredResponse
from app.db.repositories.redemptions import (
    RedemptionItemRecord,
    RedemptionRecord,
    ReturnedRecord,
)
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import Scope
from app.domain.budgets import Applied, budget_takes
from app.domain.codes import is_well_formed, normalise
from app.domain.engine import Evaluation
from app.domain.guesses import (
    address_subject,
    blocking,
    customer_subject,
    failed_guesses,
)
from app.domain.ledger import Entry
from app.domain.periods import PeriodKey, PeriodTake, period_takes
from app.domain.reasons import Reason
from app.domain.returns import Terms
from app.domain.rules import Promotion
from app.domain.stacking import CodePolicy
from app.domain.verdicts import VerdictSource, refused_codes
from app.rendering import plain, render
from app.services import balances, members
from app.services.api_keys import authenticate, check_access, hash_key
from app.services.checkout_results import (
    NOTHING_SETTLED,
    REDEMPTION_STATE,
    BalanceVerdict,
    Kept,
    Redemption,
    Returned,
    ReturnedLine,
    Settlement,
    Validation,
    kept_from_stored,
    redemption,
    validation_of,
)
from app.services.errors import RedemptionNotFound, RedemptionRefused
from app.services.guesses import count_failed_guesses, guess_subjects, refuse_if_blocked
from app.services.idempotency import (
    DONE,
    REFUSED,
    IdempotencyClaim,
    StoredAnswer,
    StoredRefusal,
    Written,
    replay,
    write_once,
)
from app.services.lapses import release_held_back
from app.services.patience import patiently
from app.services.validations import CheckoutRequest, evaluate_request, lookup_keys
from app.settings import GuessSettings

# How often a redeem re-evaluates after losing a race for a limit before it gives up.
_CONSUME_ATTEMPTS = 3


def redemption_of(record: RedemptionRecord) -> Redemption:
    """A recorded redemption as it stands now."""
    kept = kept_from_stored(record.result)
    return redemption(
        kept,
        id=record.id,
        status=record.status,
        order_id=record.order_id,
        created_at=record.created_at,
        rolled_back_at=record.rolled_back_at,
        expires_at=record.expires_at,
        returned=_returned(record.returned, kept.validation.total_amount),
    )


def _returned(returned: ReturnedRecord | None, redeemed_total: int) -> Returned | None:
    if returned is None:
        return None
    amounts = returned.amounts
    return Returned(
        lines=tuple(
            ReturnedLine(index, line.sku, quantity)
            for index, (line, quantity) in enumerate(
                zip(returned.lines, returned.quantities, strict=True)
            )
            if quantity
        ),
        subtotal_amount=amounts.subtotal_amount,
        discount_amount=amounts.discount_amount,
        shipping_discount_amount=amounts.shipping_discount_amount,
        total_amount=amounts.total_amount,
        cashback_amount=amounts.cashback_amount,
        refunded_amount=redeemed_total - amounts.total_amount,
    )


@dataclass(frozen=True, slots=True)
class _Refused:
    """A refused redeem's answer, stored under its Idempotency-Key for a retry."""

    validation: Validation
    balance_codes: tuple[BalanceVerdict, ...] = ()

    def stored(self) -> dict[str, Any]:
        return {**plain(self.validation), "balance_codes": plain(self.balance_codes)}

    def error(self) -> RedemptionRefused:
        return _refusal(self.stored(), replayed=False)

    def kept(self) -> StoredRefusal:
        """The refusal, kept for retries by write_once."""
        return StoredRefusal(self.error(), self.stored())


def _refused_again(answer: StoredAnswer) -> RedemptionRefused:
    return _refusal(answer.body, replayed=True)


def _refusal(stored: dict[str, Any], *, replayed: bool) -> RedemptionRefused:
    """The 409 of a refused redeem, from its (stored) answer."""
    balance_codes = stored.get("balance_codes", [])
    refused = [code for code in [*stored["codes"], *balance_codes] if not code["valid"]]
    reasons = ", ".join(f"{code['code']}: {code['reason']}" for code in refused)
    return RedemptionRefused(
        f"Not redeemed ({reasons}).",
        replayed=replayed,
        codes=stored["codes"],
        balance_codes=balance_codes,
    )


async def _consume(
    uow: UnitOfWork,
    applied: list[Promotion],
    customer_id: str | None,
    takes: Sequence[tuple[UUID, str, int]],
    periods: Sequence[PeriodTake],
) -> Reason | None:
    """Take one use of every applied code and customer limit, then what the campaigns' budgets
    give (takes, sorted), then one of each period counter (sorted), in lock order
    (db/locking.py). None when all were taken; else, with nothing taken, the verdict for what
    ran out since the evaluation."""
    async with uow.savepoint() as savepoint:
        code_ids = sorted(p.code_id for p in applied if p.code_id is not None)
        for code_id in code_ids:
            if not await uow.codes.consume_use(code_id):
                await savepoint.rollback()
                return Reason.LIMIT_REACHED
        if customer_id is not None:
            for subject, subject_id, limit in sorted(_customer_limits(applied)):
                taken = await uow.redemptions.consume_customer_use(
                    subject, subject_id, customer_id, limit
                )
                if not taken:
                    await savepoint.rollback()
                    return Reason.CUSTOMER_LIMIT_REACHED
        for campaign_id, unit, amount in takes:
            if not await uow.campaigns.take_budget(campaign_id, unit, amount):
                await savepoint.rollback()
                return Reason.BUDGET_EXHAUSTED
        for period in periods:
            if not await uow.campaigns.take_period(period):
                await savepoint.rollback()
                return Reason.PERIOD_LIMIT_REACHED
    return None


async def _consume_and_plan(
    uow: UnitOfWork,
    evaluation: Evaluation,
    request: CheckoutRequest,
    balance_codes: tuple[str, ...],
    due: int,
    now: datetime,
) -> balances.PaymentPlan | Reason:
    """Take the limits, then lock the balance codes and plan what they pay. The verdict for
    what ran out, with nothing taken, when a limit did; a plan with a refused code also gives
    back the uses taken."""
    applied = [application.promotion for application in evaluation.applied]
    takes = _budget_takes(evaluation, request.cart.currency)
    periods = _period_takes(evaluation, request.customer_id, now)
    if not balance_codes:
        lost = await _consume(uow, applied, request.customer_id, takes, periods)
        return balances.NO_PAYMENTS if lost is None else lost
    async with uow.savepoint() as attempt:
        lost = await _consume(uow, applied, request.customer_id, takes, periods)
        if lost is not None:
            return lost
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


def _budget_takes(evaluation: Evaluation, currency: str) -> list[tuple[UUID, str, int]]:
    """What the redemption adds to its campaigns' budgets (domain/budgets.budget_takes)."""
    return budget_takes(
        (
            Applied(
                application.promotion.campaign_id,
                application.promotion.budget,
                application.discount_amount + application.shipping_discount_amount,
            )
            for application in evaluation.applied
        ),
        currency,
    )


def _period_takes(
    evaluation: Evaluation, customer_id: str | None, now: datetime
) -> list[PeriodTake]:
    """The period counters the redemption adds one to, once each however many of a
    campaign's codes it used, in key order (the order their rows are locked in)."""
    takes: dict[PeriodKey, int] = {}
    for application in evaluation.applied:
        promotion = application.promotion
        for take in period_takes(
            promotion.campaign_id, promotion.code_id, promotion.rules.periods, customer_id, now
        ):
            takes.setdefault(take.key, take.limit)
    return [PeriodTake(key, limit) for key, limit in sorted(takes.items())]


def _items(evaluation: Evaluation, customer_id: str | None) -> list[RedemptionItemRecord]:
    """The redemption's items, each saying which counters and budgets it added to (what a
    rollback gives back); their budget parts add up to _budget_takes."""
    counted = customer_id is not None
    items = []
    for position, application in enumerate(evaluation.applied):
        promotion = application.promotion
        budget = promotion.budget
        items.append(
            RedemptionItemRecord(
                position=position,
                code_id=promotion.code_id,
                campaign_id=promotion.campaign_id,
                discount_amount=application.discount_amount,
                shipping_discount_amount=application.shipping_discount_amount,
                cashback_amount=application.cashback_amount,
                counted_code_customer=counted
                and promotion.code_id is not None
                and promotion.usage.per_customer_limit is not None,
                counted_campaign_customer=counted
                and promotion.usage.campaign_per_customer_limit is not None,
                budget_redemption=budget is not None and budget.redemptions is not None,
                budget_amount=(
                    application.discount_amount + application.shipping_discount_amount
                    if budget is not None and budget.amount is not None
                    else None
                ),
                terms=Terms.of(promotion),
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class RedeemTerms:
    """What a redeem asks for, besides the cart and codes."""

    order_id: str | None
    idempotency_key: str
    request_hash: bytes
    balance_codes: tuple[str, ...] = ()
    cashback_pending: timedelta = timedelta(0)
    code_policy: CodePolicy = CodePolicy.SKIP_STACKED
    held_until: datetime | None = None
    """A hold: what the redemption takes is held until then, and it is recorded 'held'."""


async def redeem(
    statements: StatementUnitOfWork,
    uow: UnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    terms: RedeemTerms,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
) -> Written[Redemption]:
    """Consume the requested codes that apply for this order (terms.code_policy says which
    that do not apply refuse it), exactly once per idempotency key, for a caller holding the
    checkout scope. No limit is ever exceeded: each
    is taken by a conditional UPDATE or a guarded upsert, and nothing is recorded unless all of
    them were taken. Balance codes then pay towards the total after discounts (each take from
    a lot guarded, under the account's lock, so a balance is never spent twice), and cashback
    is credited to the customer's wallet."""
    outcome = await _redeem_in_statements(
        statements, raw_key, request, terms, now, max_discounts, guesses, uow
    )
    if outcome is not None:
        return outcome
    key = await authenticate(statements, raw_key, Scope.CHECKOUT)
    claim = IdempotencyClaim(key.id, terms.idempotency_key, terms.request_hash)
    return await _redeem_in_transaction(
        uow,
        request,
        terms.order_id,
        claim,
        now,
        max_discounts,
        guesses,
        balance_codes=terms.balance_codes,
        cashback_pending=terms.cashback_pending,
        code_policy=terms.code_policy,
        held_until=terms.held_until,
    )


async def _redeem_in_statements(
    statements: StatementUnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    terms: RedeemTerms,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
    uow: UnitOfWork,
) -> Written[Redemption] | None:
    """Redeem in two statements, three with balance codes (their accounts and lots are read
    once the evaluation says what is due). None, having written nothing, when the redemption
    turns out to credit cashback, or when the balances kept changing between read and write:
    the transaction path does both, under the accounts' locks."""
    guessers = Guessers(
        customer=customer_subject(request.customer_id), address=address_subject(request.client_ip)
    )
    lapse_paid = partial(lapse_with_refunds, uow, now)
    async with statements:
        balance_changed = False
        lapsed = False
        lost_to = Reason.LIMIT_REACHED
        for _ in range(_CONSUME_ATTEMPTS):
            found = await statements.checkout.load_for_redeem(
                hash_key(raw_key),
                lookup_keys(request),
                request.customer_id,
                request.cart.currency,
                guessers,
                terms.idempotency_key,
                now,
            )
            key = check_access(found.key, Scope.CHECKOUT)
            claim = IdempotencyClaim(key.id, terms.idempotency_key, terms.request_hash)
            if found.stored is not None:
                return await _replay(statements, claim, found.stored)
            if request.codes or terms.balance_codes:
                refuse_if_blocked(found.blocked_until, now)
            evaluation = request.evaluate_with(found.by_code, found.automatic, now, max_discounts)
            if not lapsed and await release_held_back(statements, evaluation, now, lapse_paid):
                # What a hold past its end held is free again: read again.
                lapsed = True
                continue
            validation = validation_of(evaluation, request.customer_id, request.locale)
            refused = _Refused(validation)
            if not _redeems(evaluation, terms.code_policy):
                await _count_guesses(
                    statements, key.id, request, failed_guesses(evaluation), now, guesses
                )
                source = VerdictSource.REDEEM if terms.held_until is None else VerdictSource.HOLD
                await statements.writes.record_verdicts(
                    refused_codes(evaluation, request.customer_id, source, now), key.id
                )
                break
            if (
                evaluation.cashback_amount > 0
                and request.customer_id is not None
                and terms.held_until is None
            ):
                return None  # a hold credits its cashback when it is redeemed
            settled = NOTHING_SETTLED
            payments: tuple[NewPayment, ...] = ()
            if terms.balance_codes:
                plan = await _plan_payments_as_read(
                    statements, terms.balance_codes, request, evaluation.total_amount, now
                )
                if not plan.is_valid:
                    refused = _Refused(replace(validation, valid=False), plan.verdicts)
                    await _count_guesses(statements, key.id, request, plan.unknown, now, guesses)
                    break
                settled = Settlement(
                    balance_codes=plan.verdicts,
                    payments=tuple(payment.payment() for payment in plan.payments),
                    paid_amount=plan.paid,
                )
                payments = tuple(
                    NewPayment(uuid4(), payment.account.id, payment.takes)
                    for payment in plan.payments
                    if payment.takes
                )
            response = redemption(
                Kept(validation, settled),
                id=uuid4(),
                status="succeeded" if terms.held_until is None else "held",
                order_id=terms.order_id,
                created_at=now,
                rolled_back_at=None,
                expires_at=terms.held_until,
            )
            # Rendered once: stored with the key, kept (less its state) as the redemption's
            # result, and sent.
            rendered = render(response)
            new = _new_redemption(response, evaluation, request, payments)
            kept = Answer(key.id, claim.key, claim.request_hash, DONE, rendered, now)
            try:
                await patiently(partial(statements.writes.record_redemption, new, kept))
            except WriteRefused as lost:
                if lost.reason == KEY_TAKEN:
                    return await _replay_taken(statements, claim, now)
                # A limit ran out, or a balance changed, since the read: read and plan again.
                balance_changed = lost.reason == BALANCE_CHANGED
                lost_to = _LOST_TO.get(lost.reason, Reason.LIMIT_REACHED)
                continue
            # Unknown codes the policy left out still count as guesses.
            await _count_guesses(
                statements, key.id, request, failed_guesses(evaluation), now, guesses
            )
            return Written(response, rendered=rendered)
        else:
            if balance_changed:
                return None
            # Lost every race for a limit; report it as the limit it lost.
            refused = _Refused(validation.with_limit_reached(lost_to, request.locale))
        answer = render(refused.stored())
        stored = Answer(key.id, claim.key, claim.request_hash, REFUSED, answer, now)
        try:
            await patiently(partial(statements.writes.store_answer, stored))
        except WriteRefused:  # KEY_TAKEN: patiently retried the others
            return await _replay_taken(statements, claim, now)
    raise refused.error()


# The verdict a redeem that lost every race reports, by what its write was refused for.
_LOST_TO = {
    CODE_LIMIT: Reason.LIMIT_REACHED,
    CUSTOMER_LIMIT: Reason.CUSTOMER_LIMIT_REACHED,
    BUDGET_SPENT: Reason.BUDGET_EXHAUSTED,
    PERIOD_LIMIT: Reason.PERIOD_LIMIT_REACHED,
}


def _redeems(evaluation: Evaluation, policy: CodePolicy) -> bool:
    """Whether the evaluated request redeems under the caller's policy for codes that do not
    apply (those are never consumed: only applied promotions are)."""
    return policy.redeems([verdict.reason for verdict in evaluation.verdicts])


async def _count_guesses(
    statements: StatementUnitOfWork,
    api_key_id: UUID,
    request: CheckoutRequest,
    failures: int,
    now: datetime,
    guesses: GuessSettings,
) -> None:
    """Add a refused redeem's unknown codes to its customer's and address's failed guesses."""
    if failures:
        counted = guess_subjects(api_key_id, request.customer_id, request.client_ip, guesses)
        await count_failed_guesses(
            statements.checkout.record_failed_guesses, api_key_id, counted, failures, now, guesses
        )


async def _plan_payments_as_read(
    statements: StatementUnitOfWork,
    codes: Sequence[str],
    request: CheckoutRequest,
    due: int,
    now: datetime,
) -> balances.PaymentPlan:
    """What the balance codes pay towards due, planned from their accounts and lots as read
    now (one statement); the write takes each planned amount only if its lot still holds it."""
    keys = {normalise(code) for code in codes}
    read = await statements.checkout.balance_codes([key for key in keys if is_well_formed(key)])
    return balances.payment_plan(
        codes, read.accounts, read.lots, request.customer_id, request.cart.currency, due, now
    )


async def _replay(
    statements: StatementUnitOfWork, claim: IdempotencyClaim, stored: StoredResponse
) -> Written[Redemption]:
    """The answer to a retry: the stored refusal, or the redemption as it is now (one rolled
    back since is shown rolled back, never as a discount still to honour)."""

    async def as_now(answer: StoredAnswer) -> Redemption:
        current = await statements.checkout.redemption(UUID(answer.body["id"]))
        assert current is not None, "a stored redemption is never deleted"
        return redemption_of(current)

    return await replay(claim, stored, refuse=_refused_again, current=as_now)


async def _replay_taken(
    statements: StatementUnitOfWork, claim: IdempotencyClaim, now: datetime
) -> Written[Redemption]:
    """Another request with the same key got there first (it had not finished when this one
    read): answer as it did."""
    stored = await statements.checkout.stored_answer(claim.api_key_id, claim.key, now)
    assert stored is not None, "a taken key has its answer once its statement is done"
    return await _replay(statements, claim, stored)


def _new_redemption(
    response: Redemption,
    evaluation: Evaluation,
    request: CheckoutRequest,
    payments: Sequence[NewPayment] = (),
) -> NewRedemption:
    applied = [application.promotion for application in evaluation.applied]
    return NewRedemption(
        id=response.id,
        customer_id=request.customer_id,
        order_id=response.order_id,
        currency=request.cart.currency,
        subtotal_amount=evaluation.subtotal_amount,
        discount_amount=evaluation.discount_amount,
        shipping_amount=evaluation.shipping_amount,
        shipping_discount_amount=evaluation.shipping_discount_amount,
        cashback_amount=evaluation.cashback_amount,
        answer_only=REDEMPTION_STATE,
        items=_items(evaluation, request.customer_id),
        code_ids=sorted(p.code_id for p in applied if p.code_id is not None),
        customer_limits=sorted(_customer_limits(applied)) if request.customer_id else [],
        budget_takes=_budget_takes(evaluation, request.cart.currency),
        payments=payments,
        held_until=response.expires_at,
        period_takes=_period_takes(evaluation, request.customer_id, response.created_at),
        lines=request.cart.lines,
        shipping_method=request.cart.shipping_method,
    )


async def _redeem_in_transaction(
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
    code_policy: CodePolicy = CodePolicy.SKIP_STACKED,
    held_until: datetime | None = None,
) -> Written[Redemption]:
    """Redeem (or, with held_until, hold) as one transaction, for balance codes and cashback:
    claim the key, re-evaluate, take the limits, lock and plan the balances, record, pay,
    credit, store the answer."""

    async def as_now(answer: StoredAnswer) -> Redemption:
        # As it is now, not as it was: one rolled back since is shown rolled back.
        current = await uow.redemptions.get(UUID(answer.body["id"]))
        assert current is not None, "a stored redemption is never deleted"
        return redemption_of(current)

    async def redeem_once() -> Redemption:
        counted = guess_subjects(claim.api_key_id, request.customer_id, request.client_ip, guesses)
        if request.codes or balance_codes:
            blocked_until = await uow.guesses.blocked_until(blocking(counted), now)
            refuse_if_blocked(blocked_until, now)

        lost_to = Reason.LIMIT_REACHED
        for _ in range(_CONSUME_ATTEMPTS):
            evaluation = await evaluate_request(uow, request, now, max_discounts)
            validation = validation_of(evaluation, request.customer_id, request.locale)
            refused = _Refused(validation)
            failures = failed_guesses(evaluation)
            if not _redeems(evaluation, code_policy):
                if failures:
                    await count_failed_guesses(
                        uow.guesses.record, claim.api_key_id, counted, failures, now, guesses
                    )
                break
            plan = await _consume_and_plan(
                uow, evaluation, request, balance_codes, evaluation.total_amount, now
            )
            if isinstance(plan, Reason):
                lost_to = plan
            else:
                if not plan.is_valid:
                    refused = _Refused(replace(validation, valid=False), plan.verdicts)
                    if plan.unknown:
                        await count_failed_guesses(
                            uow.guesses.record,
                            claim.api_key_id,
                            counted,
                            plan.unknown,
                            now,
                            guesses,
                        )
                    break
                redemption_id = uuid4()
                wallet = None
                credit = None
                if (
                    evaluation.cashback_amount > 0
                    and request.customer_id is not None
                    and held_until is None  # a hold credits it when it is redeemed
                ):
                    wallet = await balances.wallet_of(
                        uow, request.customer_id, request.cart.currency
                    )
                    credit = balances.cashback_credit(
                        wallet, evaluation.cashback_amount, now + cashback_pending
                    )
                settled = Settlement(
                    balance_codes=plan.verdicts,
                    payments=tuple(payment.payment() for payment in plan.payments),
                    paid_amount=plan.paid,
                    cashback_credit=credit,
                )
                result = Kept(validation, settled).as_stored()
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
                    held_until=held_until,
                    period_takes=_period_takes(evaluation, request.customer_id, now),
                    lines=request.cart.lines,
                    shipping_method=request.cart.shipping_method,
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
                if failures:  # unknown codes the policy left out still count as guesses
                    await count_failed_guesses(
                        uow.guesses.record, claim.api_key_id, counted, failures, now, guesses
                    )
                return redemption_of(record)
        else:
            # Lost every race for a limit; report it as the limit it lost.
            refused = _Refused(validation.with_limit_reached(lost_to, request.locale))
        source = VerdictSource.REDEEM if held_until is None else VerdictSource.HOLD
        # Committed with the stored refusal (write_once).
        await uow.support.log_verdicts(
            refused_codes(evaluation, request.customer_id, source, now), claim.api_key_id
        )
        raise refused.kept()

    return await write_once(uow, claim, redeem_once, refuse=_refused_again, current=as_now)


async def get_redemption(uow: UnitOfWork, redemption_id: UUID) -> Redemption:
    async with uow:
        record = await uow.redemptions.get(redemption_id)
    if record is None:
        raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
    return redemption_of(record)


@dataclass(frozen=True, slots=True)
class RedemptionFilter:
    """Which redemptions to list: every field given must hold (none: all of them)."""

    order_id: str | None = None
    customer_id: str | None = None
    code_id: UUID | None = None
    campaign_id: UUID | None = None


async def list_redemptions(
    uow: UnitOfWork,
    where: RedemptionFilter,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None,
) -> list[Redemption]:
    """A page of redemptions, newest first, each as it is now (rolled back ones so marked)."""
    async with uow:
        records = await uow.redemptions.list_page(
            order_id=where.order_id,
            customer_id=where.customer_id,
            code_id=where.code_id,
            campaign_id=where.campaign_id,
            limit=limit,
            before=before,
        )
    return [redemption_of(record) for record in records]


async def rollback_redemption(
    statements: StatementUnitOfWork,
    uow: UnitOfWork,
    redemption_id: UUID,
    now: datetime,
    api_key_id: UUID | None = None,
    *,
    holds_only: bool = False,
    lapsed_by: datetime | None = None,
) -> Redemption:
    """Give back exactly what the redemption took, once: code and customer uses, what balance
    codes paid (into the lots it came from), the cashback it credited, and the points its order
    earned. Rolling back again returns the rolled-back redemption and changes nothing. A hold
    is released; holds_only: only a hold (anything else is returned as it is); lapsed_by: only
    a hold that ended by then (expired).

    A redemption that touched no balance and whose order earned no points is rolled back in
    one statement (db/repositories/checkout_writes.py); the others in one transaction, with
    the same rule for which it flips."""
    async with statements:
        try:
            rolled = await patiently(
                partial(
                    statements.writes.roll_back,
                    redemption_id,
                    holds_only=holds_only,
                    lapsed_by=lapsed_by,
                )
            )
        except CodeBusyError:
            rolled = None  # the transaction below waits its turn on the counter rows
        if rolled is not None and rolled.redemption is not None:
            metrics.rollback_performed()
            return redemption_of(rolled.redemption)
        if rolled is not None and not rolled.ledger:
            current = await statements.checkout.redemption(redemption_id)
            if current is None:
                raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
            if current.returned is None or current.status != "succeeded":
                return redemption_of(current)
            # Partly returned (perhaps while the statement waited): the transaction's.
    return await _rollback_in_transaction(
        uow, redemption_id, now, api_key_id, holds_only=holds_only, lapsed_by=lapsed_by
    )


async def lapse_with_refunds(uow: UnitOfWork, now: datetime, hold_id: UUID) -> Redemption:
    """Let a hold that paid with a balance lapse: its payments go back in one transaction
    (for a capacity-refused redeem and for the sweep, services/holds.py)."""
    return await _rollback_in_transaction(uow, hold_id, now, None, lapsed_by=now)


async def _rollback_in_transaction(
    uow: UnitOfWork,
    redemption_id: UUID,
    now: datetime,
    api_key_id: UUID | None,
    *,
    holds_only: bool = False,
    lapsed_by: datetime | None = None,
) -> Redemption:
    async with uow:
        record = await uow.redemptions.mark_rolled_back(
            redemption_id, holds_only=holds_only, lapsed_by=lapsed_by
        )
        if record is None:
            existing = await uow.redemptions.get(redemption_id)
            if existing is None:
                raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
            return redemption_of(existing)
        await give_back_the_rest(uow, record, now, api_key_id)
        await uow.commit()
    metrics.rollback_performed()
    return redemption_of(record)


@dataclass(frozen=True, slots=True)
class GivenBack:
    """What a rollback gave back to balances and loyalty programs."""

    balances: balances.GivenBack
    points: tuple[Entry, ...]


async def give_back_the_rest(
    uow: UnitOfWork, record: RedemptionRecord, now: datetime, api_key_id: UUID | None
) -> GivenBack:
    """Inside the transaction that just flipped record (rolled back, released or expired):
    give back what it still holds: one use of each code, the customer's counted uses, its
    campaigns' budgets (what its items still hold), its period counters, what balance codes
    still pay (into the lots it came from), the cashback still credited and the points its
    order still has. After partial returns, that is exactly what they left."""
    redemption_id = record.id
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
            + [("campaign", item.campaign_id) for item in items if item.counted_campaign_customer]
        )
        for subject, subject_id in usages:
            await uow.redemptions.release_customer_use(subject, subject_id, record.customer_id)
    await uow.campaigns.give_back_budgets(redemption_id)
    await uow.campaigns.give_back_periods(redemption_id)
    given = await balances.give_back_balances(uow, redemption_id, now, api_key_id)
    points: list[Entry] = []
    if record.order_id is not None and record.status == "rolled_back":
        # A released hold was never paid: its order's points are not its to take back.
        points = await members.reverse_order_points(
            uow, record.order_id, now, redemption_id=redemption_id, api_key_id=api_key_id
        )
    return GivenBack(given, tuple(points))
