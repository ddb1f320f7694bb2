"""Validate, redeem and redemption bodies. Responses are built as plain dicts by the services
(and stored for idempotent replays); these models document them."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import (
    FROM_JSON_STRING,
    Amount,
    ClientIp,
    CodeText,
    CurrencyCode,
    CustomerId,
    Email,
    ExternalId,
    Quantity,
    RequestModel,
    Sku,
)
from app.api.schemas.examples import example
from app.api.schemas.rules import CountryCode, Label, Labels, LocaleTag
from app.domain.cart import Cart as CartValue
from app.domain.cart import CartLine as CartLineValue
from app.domain.qualifications import OfferSource
from app.domain.reasons import Reason
from app.domain.referrals import email_key
from app.domain.returns import Wanted
from app.domain.stacking import CodePolicy
from app.services.errors import InvalidCart
from app.services.validations import CheckoutRequest

MAX_LINES = 500
MAX_CODES = 10
MAX_BALANCE_CODES = 5


class CartLine(RequestModel):
    sku: Sku
    quantity: Quantity
    unit_price_amount: Amount
    categories: Labels = Field(default_factory=list, description="For promotion targets")


class ShippingMethod(RequestModel):
    id: Label
    amount: Amount = Field(description="What this method costs before discounts")
    chosen: bool = False


class Cart(RequestModel):
    currency: CurrencyCode
    lines: list[CartLine] = Field(min_length=1, max_length=MAX_LINES)
    shipping_amount: Amount = Field(default=0, description="What shipping costs before discounts")
    shipping_methods: list[ShippingMethod] = Field(
        default_factory=list,
        max_length=50,
        description="The methods the checkout offers; the chosen one (at most one) is what "
        "shipping costs (shipping_amount may then be left out, or must be its amount), and "
        "promotions may target it",
    )

    def chosen_method(self) -> "ShippingMethod | None":
        """The chosen method; a cart whose methods disagree is refused (422 invalid_cart)."""
        ids = [method.id for method in self.shipping_methods]
        if len(set(ids)) != len(ids):
            raise InvalidCart("Each shipping method id appears once.", fields=["shipping_methods"])
        chosen = [method for method in self.shipping_methods if method.chosen]
        if len(chosen) > 1:
            raise InvalidCart("At most one shipping method is chosen.", fields=["shipping_methods"])
        sent = "shipping_amount" in self.model_fields_set
        if chosen and sent and self.shipping_amount != chosen[0].amount:
            raise InvalidCart(
                "'shipping_amount' differs from the chosen shipping method's amount.",
                fields=["shipping_amount"],
            )
        return chosen[0] if chosen else None


class Customer(RequestModel):
    id: CustomerId
    segments: Labels = Field(default_factory=list, examples=[["new_customer"]])
    first_order: bool | None = Field(
        default=None, description="True when this is their first order"
    )
    email: Email | None = Field(
        default=None,
        description="Compared (trimmed, lower-cased, hashed) with a referral code's "
        "referrer's, so nobody refers themselves under another id; not kept",
    )


class ValidationRequest(RequestModel):
    model_config = example("ValidationRequest")

    codes: list[CodeText] = Field(
        default_factory=list,
        max_length=MAX_CODES,
        examples=[["SUMMER10"]],
        description="Codes typed at checkout; automatic promotions apply without any",
    )
    customer: Customer | None = Field(
        default=None, description="Needed for customer-bound codes, limits and segments"
    )
    market: CountryCode | None = Field(default=None, description="Where the order ships")
    locale: LocaleTag | None = None
    client_ip: ClientIp | None = None
    cart: Cart

    def to_checkout_request(self) -> CheckoutRequest:
        customer = self.customer
        chosen = self.cart.chosen_method()
        return CheckoutRequest(
            cart=CartValue(
                currency=self.cart.currency,
                lines=tuple(
                    CartLineValue(
                        sku=line.sku,
                        quantity=line.quantity,
                        unit_price_amount=line.unit_price_amount,
                        categories=frozenset(line.categories),
                    )
                    for line in self.cart.lines
                ),
                shipping_amount=chosen.amount if chosen else self.cart.shipping_amount,
                shipping_method=chosen.id if chosen else None,
            ),
            codes=tuple(self.codes),
            customer_id=customer.id if customer else None,
            segments=frozenset(customer.segments) if customer else frozenset(),
            is_first_order=customer.first_order if customer else None,
            market=self.market,
            locale=self.locale,
            client_ip=self.client_ip,
            email_key=email_key(customer.email) if customer else None,
        )


class RedemptionCreate(ValidationRequest):
    model_config = example("RedemptionCreate")

    order_id: ExternalId | None = Field(
        default=None, description="Rolling the redemption back also reverses its loyalty points"
    )
    balance_codes: list[CodeText] = Field(
        default_factory=list,
        max_length=MAX_BALANCE_CODES,
        description="Gift cards and wallets paying towards the total after discounts, in order",
    )
    code_policy: Annotated[CodePolicy, FROM_JSON_STRING] = Field(
        default=CodePolicy.SKIP_STACKED,
        description="What happens to requested codes that do not apply. `skip_stacked` (the "
        "default): a code left out only by stacking (`nothing_to_discount`, `not_combinable`, "
        "`max_discounts_reached`, `better_offer_applied`) is reported and not consumed and the "
        "rest redeems, while a code refused for its own reasons (limits, expiry, customer, ...) "
        "refuses the redeem. "
        "`all_or_nothing`: any code that does not apply refuses the redeem. `skip_refused`: "
        "every code that does not apply is reported and not consumed. Whatever the policy, a "
        "redeem that would consume none of the requested codes is refused",
    )


class Shortfall(BaseModel):
    amount: int | None = Field(description="Minor units of eligible items still missing")
    quantity: int | None = Field(description="Eligible units still missing")


class CodeResult(BaseModel):
    code: str
    valid: bool
    reason: Reason | None = Field(description="Stable machine-readable reason; null when valid")
    message: str = Field(description="Human explanation, safe to show to the shopper")
    campaign_id: UUID | None
    discount_amount: int
    shortfall: Shortfall | None
    uses_left: int | None = Field(
        default=None,
        description="How many more times this shopper could use the code as things stand: "
        "the least of what is left of the code's limit, their own limits, the campaign's "
        "redemption budget and its limits per period, as read for this request (a "
        "redemption's, before it took its use). Null when nothing caps it. A hint, not a "
        "promise: others may use them first",
    )


class Gift(BaseModel):
    sku: str = Field(description="Add this SKU to the order")
    quantity: int
    unit_price_amount: int = Field(description="At this price per unit (0 = free)")


class Applied(BaseModel):
    campaign_id: UUID
    campaign_name: str
    code: str | None = Field(description="As typed; null for an automatic promotion")
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int = Field(description="Credited after redeem, not taken off the order")
    gifts: list[Gift]


class Skipped(BaseModel):
    """An automatic promotion that did not apply, and why (with how close the cart is)."""

    campaign_id: UUID
    campaign_name: str
    code: str | None
    reason: Reason
    message: str
    shortfall: Shortfall | None


class LineDiscount(BaseModel):
    campaign_id: UUID
    code: str | None
    amount: int


class UnitDiscount(BaseModel):
    quantity: int = Field(description="How many units of the line")
    amount: int = Field(description="Discount on each of those units")


class LineResult(BaseModel):
    index: int
    sku: str
    quantity: int
    unit_price_amount: int
    amount: int
    discount_amount: int
    total_amount: int
    unit_discounts: list[UnitDiscount]
    discounts: list[LineDiscount]


class Validation(BaseModel):
    valid: bool = Field(description="True when every requested code applies")
    currency: str
    customer_id: str | None
    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    shipping_discount_amount: int
    total_amount: int = Field(description="Items and shipping, after every discount")
    cashback_amount: int
    codes: list[CodeResult]
    applied: list[Applied] = Field(description="In the order they applied")
    skipped: list[Skipped]
    lines: list[LineResult]


class BalanceCodeResult(BaseModel):
    code: str
    valid: bool
    reason: Reason | None = Field(
        description="not_found, duplicate_code, customer_mismatch, currency_mismatch, expired "
        "or no_balance; null when valid"
    )
    message: str
    amount: int = Field(description="What it pays")


class Payment(BaseModel):
    code: str
    kind: Literal["gift_card", "wallet"]
    amount: int = Field(description="Taken from the balance for this order")
    remaining_amount: int = Field(description="What the balance holds after it")


class CashbackCredit(BaseModel):
    wallet_code: str
    amount: int
    available_at: datetime = Field(description="Spendable from then (after the return window)")


class ReturnedLine(BaseModel):
    index: int = Field(description="The line's position in the redeemed cart")
    sku: str
    quantity: int


class Returned(BaseModel):
    lines: list[ReturnedLine] = Field(description="Returned so far, by the cart's lines")
    subtotal_amount: int
    discount_amount: int
    shipping_discount_amount: int
    total_amount: int = Field(description="The order's total as it stands")
    cashback_amount: int
    refunded_amount: int = Field(
        description="What the order's total went down by in all: what its returns gave back"
    )


class Redemption(Validation):
    id: UUID
    status: Literal["succeeded", "rolled_back", "held", "released", "expired"] = Field(
        description="'held' while a hold keeps what it took (until `expires_at`), then "
        "'succeeded' once redeemed, 'released' or 'expired'; 'rolled_back' after a rollback"
    )
    order_id: str | None
    consumed_codes: list[str] = Field(
        description="The requested codes this redemption consumed: those that applied. A code "
        "the request's `code_policy` left out is in `codes` with its reason and was not "
        "consumed (`valid` is then false)"
    )
    balance_codes: list[BalanceCodeResult]
    payments: list[Payment]
    paid_amount: int = Field(description="What balance codes paid")
    amount_due: int = Field(description="`total_amount` minus `paid_amount`: left to charge")
    cashback_credit: CashbackCredit | None = Field(
        description="Credited to the customer's wallet; null without cashback or customer"
    )
    created_at: datetime
    rolled_back_at: datetime | None = Field(
        description="When it was rolled back, or (a hold) released or let lapse"
    )
    expires_at: datetime | None = Field(
        description="A hold's end: what it took is held for it until then. Null for a "
        "redemption made directly"
    )
    returned: Returned | None = Field(
        description="What its returns brought back so far and the order as it stands "
        "(`POST /v1/redemptions/{id}/returns`); null when nothing was returned. The amounts "
        "above stay as redeemed. Rolled back after returns, it shows the order as the "
        "returns left it: what the rollback gave back"
    )


class RedemptionList(BaseModel):
    data: list[Redemption]
    next_cursor: str | None


class HoldCreate(ValidationRequest):
    model_config = example("HoldCreate")

    order_id: ExternalId = Field(description="The order the hold is for")
    code_policy: Annotated[CodePolicy, FROM_JSON_STRING] = Field(
        default=CodePolicy.SKIP_STACKED,
        description="As for /v1/redeem: what happens to requested codes that do not apply",
    )
    balance_codes: list[CodeText] = Field(
        default_factory=list,
        max_length=MAX_BALANCE_CODES,
        description="Gift cards and wallets whose payments towards the total the hold takes",
    )
    hold_seconds: int | None = Field(
        default=None,
        ge=1,
        description="How long the hold keeps what it took; by default the service's "
        "TESSERA_HOLDS__DEFAULT_SECONDS (15 minutes), at most TESSERA_HOLDS__MAX_SECONDS",
    )


class HoldLapseRun(BaseModel):
    released: int = Field(description="Holds past their end that gave back what they held")


class QualificationRequest(RequestModel):
    model_config = example("QualificationRequest")

    customer: Customer | None = Field(
        default=None,
        description="Their bound codes (support, claimed pool, reward codes) are weighed too",
    )
    market: CountryCode | None = Field(default=None, description="Where the order ships")
    locale: LocaleTag | None = None
    cart: Cart

    def to_checkout_request(self) -> CheckoutRequest:
        request = ValidationRequest(
            customer=self.customer, market=self.market, locale=self.locale, cart=self.cart
        )
        return request.to_checkout_request()


class Offer(BaseModel):
    campaign_id: UUID
    campaign_name: str
    code: str | None = Field(description="The code to type; null for an automatic promotion")
    source: OfferSource = Field(
        description="'automatic', 'bound' (only this customer's) or 'advertised' (public)"
    )
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    total_amount: int = Field(description="What the cart would cost with this one alone")


class NearMiss(BaseModel):
    campaign_id: UUID
    campaign_name: str
    code: str | None
    source: OfferSource
    reason: Reason
    message: str = Field(description="Says what is missing, safe to show to the shopper")
    shortfall: Shortfall


class Qualification(BaseModel):
    currency: str
    customer_id: str | None
    offers: list[Offer] = Field(description="What applies now, each alone, best first")
    near_misses: list[NearMiss] = Field(
        description="What would apply with a bigger cart, closest first"
    )


class ReturnLine(RequestModel):
    sku: Sku
    quantity: Quantity
    line: int | None = Field(
        default=None,
        ge=0,
        lt=MAX_LINES,
        description="The line's position in the redeemed cart (`lines[].index`), when the "
        "sku is on several lines; by default the sku's units come from its lines in the "
        "cart's order",
    )


class ReturnCreate(RequestModel):
    model_config = example("ReturnCreate")

    lines: list[ReturnLine] = Field(
        min_length=1,
        max_length=MAX_LINES,
        description="What comes back, by sku (and `line`, when the sku is on several)",
    )

    def wanted(self) -> tuple[Wanted, ...]:
        return tuple(Wanted(line.sku, line.quantity, line.line) for line in self.lines)


class BalanceRefund(BaseModel):
    code: str
    kind: Literal["gift_card", "wallet"]
    amount: int = Field(description="Put back on it, into the lots it was paid from")


class PointsReversed(BaseModel):
    program_id: UUID
    points: int = Field(description="The returned part's share of what the order earned")
    forgiven_points: int = Field(
        description="Of `points`, what the member had spent already and the program forgave "
        "(one that allows a negative balance makes it debt instead)"
    )


class PromotionAfterReturn(BaseModel):
    campaign_id: UUID
    code: str | None
    discount_amount: int = Field(description="What it takes off the lines that stay")
    shipping_discount_amount: int
    cashback_amount: int
    given_back_amount: int = Field(
        description="The discount it no longer gives (back to its campaign's money budget)"
    )


class Return(BaseModel):
    id: UUID
    redemption_id: UUID
    order_id: str | None
    created_at: datetime
    lines: list[ReturnedLine] = Field(description="What this return brought back")
    order_returned: bool = Field(
        description="Every line is back: the redemption is rolled back, and its code and "
        "customer uses, redemption budgets and period counters are given back as well"
    )
    total_amount_before: int
    subtotal_amount: int
    discount_amount: int = Field(description="The discount on what stays, recomputed")
    shipping_discount_amount: int
    total_amount: int = Field(description="The order's total now (0 once all is returned)")
    refund_amount: int = Field(
        description="`total_amount_before` minus `total_amount`: what the shopper gets back"
    )
    balance_refunds: list[BalanceRefund] = Field(
        description="What went back to gift cards and wallets (what they paid beyond the new "
        "total, the last payment first)"
    )
    balance_refunded_amount: int
    external_refund_amount: int = Field(
        description="`refund_amount` less `balance_refunded_amount`: what the shop refunds "
        "through its own payment"
    )
    cashback_reversed_amount: int = Field(description="Taken back from the customer's wallet")
    points_reversed: list[PointsReversed]
    promotions: list[PromotionAfterReturn] = Field(description="Each promotion of the order now")


class ReturnList(BaseModel):
    data: list[Return]
