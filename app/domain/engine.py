"""The one entry point of the calculation: evaluate requested codes against a cart.

Codes are applied in request order, each to what the codes before it left of every line. An
order-level discount is spread over the lines by largest remainder (money.allocate), weighted by
what is left of each line, so line discounts add up exactly to the code's discount and no line
is discounted below zero.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain.cart import Cart
from app.domain.codes import is_well_formed, normalise
from app.domain.context import EvaluationContext
from app.domain.money import allocate, format_amount
from app.domain.reasons import Reason, Shortfall
from app.domain.rules import Promotion


@dataclass(frozen=True, slots=True)
class CodeVerdict:
    code: str
    reason: Reason | None
    message: str
    promotion: Promotion | None
    discount_amount: int = 0
    line_discount_amounts: tuple[int, ...] = ()
    shortfall: Shortfall | None = None

    @property
    def is_valid(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Evaluation:
    cart: Cart
    verdicts: tuple[CodeVerdict, ...]
    line_discount_amounts: tuple[int, ...]

    @property
    def subtotal_amount(self) -> int:
        return self.cart.subtotal_amount

    @property
    def discount_amount(self) -> int:
        return sum(self.line_discount_amounts)

    @property
    def total_amount(self) -> int:
        return self.subtotal_amount - self.discount_amount

    @property
    def applied(self) -> tuple[CodeVerdict, ...]:
        return tuple(v for v in self.verdicts if v.is_valid)

    @property
    def refused(self) -> tuple[CodeVerdict, ...]:
        return tuple(v for v in self.verdicts if not v.is_valid)


_MESSAGES: dict[Reason, str] = {
    Reason.NOT_FOUND: "This code does not exist.",
    Reason.DUPLICATE_CODE: "This code is already in the request.",
    Reason.PAUSED: "This code is not available at the moment.",
    Reason.NOT_STARTED: "This code is not valid yet.",
    Reason.EXPIRED: "This code has expired.",
    Reason.CUSTOMER_REQUIRED: "This code can only be used by a signed-in customer.",
    Reason.CUSTOMER_MISMATCH: "This code belongs to another customer.",
    Reason.CURRENCY_MISMATCH: "This code cannot be used in this currency.",
    Reason.LIMIT_REACHED: "This code has been used up.",
    Reason.CUSTOMER_LIMIT_REACHED: "You have already used this code as often as allowed.",
    Reason.MIN_SUBTOTAL_NOT_MET: "The order is below this code's minimum.",
    Reason.NOTHING_TO_DISCOUNT: "There is nothing left in the order for this code to discount.",
}


def message_for(reason: Reason) -> str:
    """The constant human message of a reason (shortfall hints are added per verdict)."""
    return _MESSAGES[reason]


def _refusal(
    code: str, reason: Reason, promotion: Promotion | None, shortfall: Shortfall | None = None
) -> CodeVerdict:
    return CodeVerdict(
        code=code,
        reason=reason,
        message=message_for(reason),
        promotion=promotion,
        shortfall=shortfall,
    )


def _eligibility(promotion: Promotion, cart: Cart, ctx: EvaluationContext) -> Reason | None:
    """The first unmet requirement of the code, in a fixed order: state, time, who, currency,
    limits. Cart-value conditions come after, because they carry a shortfall."""
    if not promotion.is_active:
        return Reason.PAUSED
    if promotion.starts_at is not None and ctx.now < promotion.starts_at:
        return Reason.NOT_STARTED
    if (promotion.ends_at is not None and ctx.now >= promotion.ends_at) or (
        promotion.expires_at is not None and ctx.now >= promotion.expires_at
    ):
        return Reason.EXPIRED
    if promotion.needs_customer and ctx.customer_id is None:
        return Reason.CUSTOMER_REQUIRED
    if promotion.bound_customer_id is not None and promotion.bound_customer_id != ctx.customer_id:
        return Reason.CUSTOMER_MISMATCH
    if promotion.currency is not None and promotion.currency != cart.currency:
        return Reason.CURRENCY_MISMATCH
    if (
        promotion.max_redemptions is not None
        and promotion.redemption_count >= promotion.max_redemptions
    ):
        return Reason.LIMIT_REACHED
    if (
        promotion.per_customer_limit is not None
        and promotion.customer_redemption_count >= promotion.per_customer_limit
    ) or (
        promotion.campaign_per_customer_limit is not None
        and promotion.campaign_customer_redemption_count >= promotion.campaign_per_customer_limit
    ):
        return Reason.CUSTOMER_LIMIT_REACHED
    return None


def evaluate(
    cart: Cart,
    codes: Sequence[str],
    promotions: Mapping[str, Promotion],
    ctx: EvaluationContext,
) -> Evaluation:
    """Verdicts for codes (as typed, in request order) against cart.

    promotions maps a normalised code to what is stored for it; a code missing there is
    not_found. The result's line discounts sum exactly to its discount, each line's discount
    stays within the line's amount, and the total is never negative.
    """
    remaining = [line.amount for line in cart.lines]
    seen: set[str] = set()
    verdicts: list[CodeVerdict] = []
    for typed in codes:
        key = normalise(typed)
        if key in seen:
            verdicts.append(_refusal(typed, Reason.DUPLICATE_CODE, None))
            continue
        seen.add(key)
        promotion = promotions.get(key) if is_well_formed(key) else None
        if promotion is None:
            verdicts.append(_refusal(typed, Reason.NOT_FOUND, None))
            continue
        reason = _eligibility(promotion, cart, ctx)
        if reason is not None:
            verdicts.append(_refusal(typed, reason, promotion))
            continue
        if (
            promotion.min_subtotal_amount is not None
            and cart.subtotal_amount < promotion.min_subtotal_amount
        ):
            missing = promotion.min_subtotal_amount - cart.subtotal_amount
            verdict = _refusal(typed, Reason.MIN_SUBTOTAL_NOT_MET, promotion, Shortfall(missing))
            hint = f"Add {format_amount(missing, cart.currency)} more to use this code."
            verdicts.append(replace(verdict, message=f"{verdict.message} {hint}"))
            continue
        base = sum(remaining)
        discount = promotion.benefit.amount_for(base)
        if discount <= 0:
            verdicts.append(_refusal(typed, Reason.NOTHING_TO_DISCOUNT, promotion))
            continue
        parts = allocate(discount, remaining)
        remaining = [left - part for left, part in zip(remaining, parts, strict=True)]
        verdicts.append(
            CodeVerdict(
                code=typed,
                reason=None,
                message="The code applies.",
                promotion=promotion,
                discount_amount=discount,
                line_discount_amounts=tuple(parts),
            )
        )
    line_discounts = tuple(
        line.amount - left for line, left in zip(cart.lines, remaining, strict=True)
    )
    return Evaluation(cart=cart, verdicts=tuple(verdicts), line_discount_amounts=line_discounts)
