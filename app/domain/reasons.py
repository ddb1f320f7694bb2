"""Stable, machine-readable reasons for a verdict. Values never change once published."""

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    NOT_FOUND = "not_found"
    DUPLICATE_CODE = "duplicate_code"
    PAUSED = "paused"
    DISABLED = "disabled"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    OUTSIDE_SCHEDULE = "outside_schedule"
    CUSTOMER_REQUIRED = "customer_required"
    CUSTOMER_MISMATCH = "customer_mismatch"
    SELF_REFERRAL = "self_referral"
    SEGMENT_NOT_ELIGIBLE = "segment_not_eligible"
    FIRST_ORDER_ONLY = "first_order_only"
    MARKET_NOT_ELIGIBLE = "market_not_eligible"
    LOCALE_NOT_ELIGIBLE = "locale_not_eligible"
    CURRENCY_MISMATCH = "currency_mismatch"
    LIMIT_REACHED = "limit_reached"
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached"
    PERIOD_LIMIT_REACHED = "period_limit_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BUDGET_EXCEEDED = "budget_exceeded"
    NO_ELIGIBLE_ITEMS = "no_eligible_items"
    MIN_SUBTOTAL_NOT_MET = "min_subtotal_not_met"
    MIN_QUANTITY_NOT_MET = "min_quantity_not_met"
    REQUIRED_ITEMS_MISSING = "required_items_missing"
    SHIPPING_METHOD_NOT_ELIGIBLE = "shipping_method_not_eligible"
    NOTHING_TO_DISCOUNT = "nothing_to_discount"
    NOT_COMBINABLE = "not_combinable"
    MAX_DISCOUNTS_REACHED = "max_discounts_reached"
    BETTER_OFFER_APPLIED = "better_offer_applied"
    # Balance codes (gift cards, wallets) only.
    NO_BALANCE = "no_balance"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """How far the cart is from a condition: amount in minor units, or a number of items."""

    amount: int | None = None
    quantity: int | None = None
