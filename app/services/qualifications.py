"""POST /v1/qualifications: what a shopper could use on a cart, in one round trip."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app import i18n
from app.db.uow import StatementUnitOfWork
from app.domain.api_keys import Scope
from app.domain.qualifications import OfferSource, qualify
from app.domain.reasons import Reason, Shortfall
from app.services.api_keys import check_access, hash_key
from app.services.validations import CheckoutRequest


@dataclass(frozen=True, slots=True)
class OfferResult:
    campaign_id: UUID
    campaign_name: str
    code: str | None
    source: OfferSource
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    total_amount: int


@dataclass(frozen=True, slots=True)
class NearMissResult:
    campaign_id: UUID
    campaign_name: str
    code: str | None
    source: OfferSource
    reason: Reason
    message: str
    shortfall: Shortfall


@dataclass(frozen=True, slots=True)
class QualificationResult:
    currency: str
    customer_id: str | None
    offers: tuple[OfferResult, ...]
    near_misses: tuple[NearMissResult, ...]


async def qualify_cart(
    reads: StatementUnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    now: datetime,
    max_discounts: int,
) -> QualificationResult:
    """Every automatic promotion, code bound to the customer and advertised public code that
    applies to the cart now, each alone, best first; and those that almost apply. One
    statement reads the key and every candidate; the engine weighs each."""
    async with reads:
        found = await reads.checkout.load_qualifying(
            hash_key(raw_key), request.customer_id, request.cart.currency, now
        )
    check_access(found.key, Scope.CHECKOUT)
    result = qualify(
        request.cart,
        [*found.by_code.values(), *found.automatic],
        request.context(now),
        max_discounts,
    )
    return QualificationResult(
        currency=request.cart.currency,
        customer_id=request.customer_id,
        offers=tuple(
            OfferResult(
                campaign_id=offer.promotion.campaign_id,
                campaign_name=offer.promotion.name,
                code=offer.promotion.code,
                source=offer.source,
                discount_amount=offer.discount_amount,
                shipping_discount_amount=offer.shipping_discount_amount,
                cashback_amount=offer.cashback_amount,
                total_amount=offer.total_amount,
            )
            for offer in result.offers
        ),
        near_misses=tuple(
            NearMissResult(
                campaign_id=near.promotion.campaign_id,
                campaign_name=near.promotion.name,
                code=near.promotion.code,
                source=near.source,
                reason=near.reason,
                message=near.message
                if request.locale is None
                else i18n.message(
                    near.reason, near.shortfall, request.cart.currency, request.locale
                ),
                shortfall=near.shortfall,
            )
            for near in result.near_misses
        ),
    )
