"""What a shopper could use on a cart: every promotion offered to them (automatic ones, codes
bound to them, advertised public codes), each weighed alone against the cart; those that apply
with what they would take off, best first, and those that almost apply with what is missing."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.domain.cart import Cart
from app.domain.codes import normalise
from app.domain.context import EvaluationContext
from app.domain.engine import evaluate
from app.domain.reasons import Reason, Shortfall
from app.domain.rules import ExclusiveConflict, Promotion

# The most codes a qualification weighs (newest first), besides the automatic promotions.
QUALIFYING_CODES = 100
# Refusals a bigger cart would turn into a discount.
_NEARLY = frozenset(
    {Reason.MIN_SUBTOTAL_NOT_MET, Reason.MIN_QUANTITY_NOT_MET, Reason.REQUIRED_ITEMS_MISSING}
)


class OfferSource(StrEnum):
    AUTOMATIC = "automatic"
    """Applies to every cart that qualifies, without a code."""
    BOUND = "bound"
    """A code only this customer may use (support, claimed pool, reward or bound named code)."""
    ADVERTISED = "advertised"
    """A public code of a campaign that advertises its codes."""


@dataclass(frozen=True, slots=True)
class Offer:
    promotion: Promotion
    source: OfferSource
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    total_amount: int
    """What the cart would cost with this alone."""

    @property
    def saving(self) -> int:
        return self.discount_amount + self.shipping_discount_amount


@dataclass(frozen=True, slots=True)
class NearMiss:
    promotion: Promotion
    source: OfferSource
    reason: Reason
    message: str
    shortfall: Shortfall


@dataclass(frozen=True, slots=True)
class Qualification:
    offers: tuple[Offer, ...]
    """Best first: most taken off, then most cashback, then by name."""
    near_misses: tuple[NearMiss, ...]
    """Closest first: least amount missing, then fewest items."""


def _applies_with(
    promotion: Promotion,
    automatic: Sequence[Promotion],
    cart: Cart,
    ctx: EvaluationContext,
    max_discounts: int,
) -> bool:
    others = [p for p in automatic if p is not promotion]
    if promotion.code is None:
        result = evaluate(cart, (), {}, ctx, (promotion, *others), max_discounts)
    else:
        code = promotion.code
        result = evaluate(cart, (code,), {normalise(code): promotion}, ctx, others, max_discounts)
    return any(applied.promotion is promotion for applied in result.applied)


def _steps_aside(promotion: Promotion) -> bool:
    stacking = promotion.stacking
    return stacking.is_exclusive and stacking.exclusive_conflict is ExclusiveConflict.REFUSE


def source_of(promotion: Promotion) -> OfferSource:
    if promotion.code is None:
        return OfferSource.AUTOMATIC
    if promotion.bound_customer_id is not None:
        return OfferSource.BOUND
    return OfferSource.ADVERTISED


def qualify(
    cart: Cart, promotions: Sequence[Promotion], ctx: EvaluationContext, max_discounts: int
) -> Qualification:
    """Each promotion weighed alone against cart, as validate would weigh it."""
    offers: list[Offer] = []
    near: list[NearMiss] = []
    for promotion in promotions:
        source = source_of(promotion)
        if promotion.code is None:
            result = evaluate(cart, (), {}, ctx, (promotion,), max_discounts)
            refusal = result.skipped[0] if result.skipped else None
        else:
            code = promotion.code
            result = evaluate(cart, (code,), {normalise(code): promotion}, ctx, (), max_discounts)
            refusal = result.verdicts[0].refusal
        if refusal is None and result.applied:
            applied = result.applied[0]
            offers.append(
                Offer(
                    promotion,
                    source,
                    applied.discount_amount,
                    applied.shipping_discount_amount,
                    applied.cashback_amount,
                    result.total_amount,
                )
            )
        elif refusal is not None and refusal.reason in _NEARLY and refusal.shortfall is not None:
            near.append(
                NearMiss(promotion, source, refusal.reason, refusal.message, refusal.shortfall)
            )
    automatic = [o.promotion for o in offers if o.source is OfferSource.AUTOMATIC]
    if automatic:
        # Automatic promotions join every checkout: an exclusive promotion that steps aside
        # when another applies (ExclusiveConflict.REFUSE) is offered only if it would still
        # apply next to them, as validate would stack them.
        offers = [
            o
            for o in offers
            if not _steps_aside(o.promotion)
            or _applies_with(o.promotion, automatic, cart, ctx, max_discounts)
        ]
    offers.sort(
        key=lambda o: (-o.saving, -o.cashback_amount, o.promotion.name, o.promotion.code or "")
    )
    near.sort(
        key=lambda n: (
            n.shortfall.amount if n.shortfall.amount is not None else 0,
            n.shortfall.quantity if n.shortfall.quantity is not None else 0,
            n.promotion.name,
        )
    )
    return Qualification(tuple(offers), tuple(near))
