"""Validate, redeem and redemption bodies. Responses are built as plain dicts by the services
(and stored for idempotent replays); these models document them."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import (
    Amount,
    CodeText,
    CurrencyCode,
    CustomerId,
    ExternalId,
    Quantity,
    RequestModel,
    Sku,
)
from app.domain.cart import Cart as CartValue
from app.domain.cart import CartLine as CartLineValue
from app.domain.reasons import Reason
from app.services.validations import CheckoutRequest

MAX_LINES = 500
MAX_CODES = 10


class CartLine(RequestModel):
    sku: Sku
    quantity: Quantity
    unit_price_amount: Amount


class Cart(RequestModel):
    currency: CurrencyCode
    lines: list[CartLine] = Field(min_length=1, max_length=MAX_LINES)


class Customer(RequestModel):
    id: CustomerId


class ValidationRequest(RequestModel):
    codes: list[CodeText] = Field(min_length=1, max_length=MAX_CODES, examples=[["SUMMER10"]])
    customer: Customer | None = Field(
        default=None, description="Needed for customer-bound codes and per-customer limits"
    )
    cart: Cart

    def to_checkout_request(self) -> CheckoutRequest:
        return CheckoutRequest(
            cart=CartValue(
                currency=self.cart.currency,
                lines=tuple(
                    CartLineValue(
                        sku=line.sku,
                        quantity=line.quantity,
                        unit_price_amount=line.unit_price_amount,
                    )
                    for line in self.cart.lines
                ),
            ),
            codes=tuple(self.codes),
            customer_id=self.customer.id if self.customer else None,
        )


class RedemptionCreate(ValidationRequest):
    order_id: ExternalId | None = None


class Shortfall(BaseModel):
    amount: int = Field(description="Minor units the cart is short of the minimum")


class CodeResult(BaseModel):
    code: str
    valid: bool
    reason: Reason | None = Field(description="Stable machine-readable reason; null when valid")
    message: str = Field(description="Human explanation, safe to show to the shopper")
    campaign_id: UUID | None
    discount_amount: int
    shortfall: Shortfall | None


class LineDiscount(BaseModel):
    code: str
    amount: int


class LineResult(BaseModel):
    index: int
    sku: str
    quantity: int
    unit_price_amount: int
    amount: int
    discount_amount: int
    total_amount: int
    discounts: list[LineDiscount]


class Validation(BaseModel):
    valid: bool = Field(description="True when every code applies")
    currency: str
    customer_id: str | None
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    codes: list[CodeResult]
    lines: list[LineResult]


class Redemption(Validation):
    id: UUID
    status: Literal["succeeded", "rolled_back"]
    order_id: str | None
    created_at: datetime
    rolled_back_at: datetime | None
