"""Validate: what codes would do to a cart, with a reason for every verdict. Never writes."""

from dataclasses import dataclass
from typing import Any

from app.db.uow import UnitOfWork
from app.domain.cart import Cart
from app.domain.codes import is_well_formed, normalise
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation, evaluate


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A cart, the codes typed for it and who is buying: the input of validate and redeem."""

    cart: Cart
    codes: tuple[str, ...]
    customer_id: str | None


async def evaluate_request(
    uow: UnitOfWork, request: CheckoutRequest, ctx: EvaluationContext
) -> Evaluation:
    """Load the requested codes (one query) and run the engine, inside the caller's unit of work."""
    keys = sorted({key for key in map(normalise, request.codes) if is_well_formed(key)})
    promotions = await uow.codes.load_promotions(keys, request.customer_id)
    return evaluate(request.cart, request.codes, promotions, ctx)


async def validate_codes(
    uow: UnitOfWork, request: CheckoutRequest, ctx: EvaluationContext
) -> dict[str, Any]:
    """The verdict on every code and the resulting totals, as the response body. Read-only."""
    async with uow:
        evaluation = await evaluate_request(uow, request, ctx)
    return evaluation_body(evaluation, request.customer_id)


def evaluation_body(evaluation: Evaluation, customer_id: str | None) -> dict[str, Any]:
    """The JSON form of an evaluation, shared by validate, redeem and stored redemptions."""
    cart = evaluation.cart
    per_line: list[list[dict[str, Any]]] = [[] for _ in cart.lines]
    codes: list[dict[str, Any]] = []
    for verdict in evaluation.verdicts:
        promotion = verdict.promotion
        codes.append(
            {
                "code": verdict.code,
                "valid": verdict.is_valid,
                "reason": verdict.reason.value if verdict.reason else None,
                "message": verdict.message,
                "campaign_id": str(promotion.campaign_id)
                if promotion and verdict.is_valid
                else None,
                "discount_amount": verdict.discount_amount,
                "shortfall": {"amount": verdict.shortfall.amount} if verdict.shortfall else None,
            }
        )
        for index, amount in enumerate(verdict.line_discount_amounts):
            if amount:
                per_line[index].append({"code": verdict.code, "amount": amount})
    lines = [
        {
            "index": index,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price_amount": line.unit_price_amount,
            "amount": line.amount,
            "discount_amount": discount,
            "total_amount": line.amount - discount,
            "discounts": per_line[index],
        }
        for index, (line, discount) in enumerate(
            zip(cart.lines, evaluation.line_discount_amounts, strict=True)
        )
    ]
    return {
        "valid": bool(codes) and all(code["valid"] for code in codes),
        "currency": cart.currency,
        "customer_id": customer_id,
        "subtotal_amount": evaluation.subtotal_amount,
        "discount_amount": evaluation.discount_amount,
        "total_amount": evaluation.total_amount,
        "codes": codes,
        "lines": lines,
    }
