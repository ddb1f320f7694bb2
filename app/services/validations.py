"""Validate: what codes and automatic promotions would do to a cart, with a reason for every
verdict. Never writes."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.db.repositories.checkout_reads import Guessers
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import Scope
from app.domain.cart import Cart
from app.domain.codes import is_well_formed, normalise
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation, Refusal, evaluate
from app.domain.guesses import address_subject, customer_subject, failed_guesses
from app.domain.reasons import Shortfall
from app.domain.rules import Promotion
from app.services.api_keys import check_access, hash_key
from app.services.guesses import count_failed_guesses, guess_subjects, refuse_if_blocked
from app.settings import GuessSettings


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A cart, the codes typed for it and the facts about the buyer: the input of validate and
    redeem."""

    cart: Cart
    codes: tuple[str, ...]
    customer_id: str | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    is_first_order: bool | None = None
    market: str | None = None
    locale: str | None = None
    client_ip: str | None = None
    """The shopper's IP address as the checkout saw it: failed guesses are counted by it."""

    def evaluate_with(
        self,
        by_code: dict[str, Promotion],
        automatic: list[Promotion],
        now: datetime,
        max_discounts: int,
    ) -> Evaluation:
        """The engine's verdict on this request, given its candidates as loaded at now."""
        return evaluate(
            self.cart,
            self.codes,
            by_code,
            self.context(now),
            automatic=automatic,
            max_discounts=max_discounts,
        )

    def context(self, now: datetime) -> EvaluationContext:
        return EvaluationContext(
            now=now,
            customer_id=self.customer_id,
            segments=self.segments,
            is_first_order=self.is_first_order,
            market=self.market,
            locale=self.locale,
        )


def lookup_keys(request: CheckoutRequest) -> list[str]:
    """The normalised texts worth looking up: a malformed code cannot exist."""
    return sorted({key for key in map(normalise, request.codes) if is_well_formed(key)})


async def evaluate_request(
    uow: UnitOfWork, request: CheckoutRequest, now: datetime, max_discounts: int
) -> Evaluation:
    """Load the requested codes and the live automatic promotions (one query) and run the
    engine, inside the caller's unit of work."""
    by_code, automatic = await uow.codes.load_candidates(
        lookup_keys(request), request.customer_id, now
    )
    return request.evaluate_with(by_code, automatic, now, max_discounts)


async def validate_codes(
    reads: StatementUnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
) -> dict[str, Any]:
    """The verdict on every code and automatic promotion and the resulting totals, as the
    response body, for a caller holding the checkout scope. One round trip: the key and
    whether the customer or the client address is blocked from trying codes are read by the
    same statement that loads the promotions. Only failed guesses write (one more
    statement)."""
    guessers = Guessers(
        customer=customer_subject(request.customer_id), address=address_subject(request.client_ip)
    )
    async with reads:
        found = await reads.checkout.load_candidates(
            hash_key(raw_key), lookup_keys(request), request.customer_id, guessers, now
        )
    key = check_access(found.key, Scope.CHECKOUT)
    if request.codes:
        refuse_if_blocked(found.blocked_until, now)
    evaluation = request.evaluate_with(found.by_code, found.automatic, now, max_discounts)
    failures = failed_guesses(evaluation)
    if failures:
        counted = guess_subjects(key.id, request.customer_id, request.client_ip, guesses)
        async with reads:
            await count_failed_guesses(
                reads.checkout.record_failed_guesses, key.id, counted, failures, now, guesses
            )
    return evaluation_body(evaluation, request.customer_id)


def _shortfall(shortfall: Shortfall | None) -> dict[str, Any] | None:
    if shortfall is None:
        return None
    return {"amount": shortfall.amount, "quantity": shortfall.quantity}


def _skipped(refusal: Refusal) -> dict[str, Any]:
    promotion = refusal.promotion
    assert promotion is not None, "only promotions that exist are skipped"
    return {
        "campaign_id": str(promotion.campaign_id),
        "campaign_name": promotion.name,
        "code": refusal.code,
        "reason": refusal.reason.value,
        "message": refusal.message,
        "shortfall": _shortfall(refusal.shortfall),
    }


def evaluation_body(evaluation: Evaluation, customer_id: str | None) -> dict[str, Any]:
    """The JSON form of an evaluation, shared by validate, redeem and stored redemptions."""
    cart = evaluation.cart
    per_line: list[list[dict[str, Any]]] = [[] for _ in cart.lines]
    applied = []
    for application in evaluation.applied:
        campaign_id = str(application.promotion.campaign_id)
        applied.append(
            {
                "campaign_id": campaign_id,
                "campaign_name": application.promotion.name,
                "code": application.code,
                "discount_amount": application.discount_amount,
                "shipping_discount_amount": application.shipping_discount_amount,
                "cashback_amount": application.cashback_amount,
                "gifts": [
                    {"sku": g.sku, "quantity": g.quantity, "unit_price_amount": g.unit_price_amount}
                    for g in application.gifts
                ],
            }
        )
        for index, amount in enumerate(application.line_discount_amounts):
            if amount:
                per_line[index].append(
                    {"campaign_id": campaign_id, "code": application.code, "amount": amount}
                )
    codes = []
    for verdict in evaluation.verdicts:
        refusal, used = verdict.refusal, verdict.application
        codes.append(
            {
                "code": verdict.code,
                "valid": verdict.is_valid,
                "reason": refusal.reason.value if refusal else None,
                "message": refusal.message if refusal else "The code applies.",
                "campaign_id": str(used.promotion.campaign_id) if used else None,
                "discount_amount": used.discount_amount if used else 0,
                "shortfall": _shortfall(refusal.shortfall) if refusal else None,
            }
        )
    lines = [
        {
            "index": index,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price_amount": line.unit_price_amount,
            "amount": line.amount,
            "discount_amount": discount,
            "total_amount": line.amount - discount,
            "unit_discounts": [
                {"quantity": count, "amount": each} for each, count in units if each or count
            ],
            "discounts": per_line[index],
        }
        for index, (line, discount, units) in enumerate(
            zip(
                cart.lines, evaluation.line_discount_amounts, evaluation.unit_discounts, strict=True
            )
        )
    ]
    return {
        "valid": evaluation.is_valid,
        "currency": cart.currency,
        "customer_id": customer_id,
        "subtotal_amount": evaluation.subtotal_amount,
        "discount_amount": evaluation.discount_amount,
        "shipping_amount": evaluation.shipping_amount,
        "shipping_discount_amount": evaluation.shipping_discount_amount,
        "total_amount": evaluation.total_amount,
        "cashback_amount": evaluation.cashback_amount,
        "codes": codes,
        "applied": applied,
        "skipped": [_skipped(refusal) for refusal in evaluation.skipped],
        "lines": lines,
    }
