"""Stable, machine-readable reasons for a code's verdict. Values never change once published."""

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    NOT_FOUND = "not_found"
    DUPLICATE_CODE = "duplicate_code"
    PAUSED = "paused"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    CUSTOMER_REQUIRED = "customer_required"
    CUSTOMER_MISMATCH = "customer_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    LIMIT_REACHED = "limit_reached"
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached"
    MIN_SUBTOTAL_NOT_MET = "min_subtotal_not_met"
    NOTHING_TO_DISCOUNT = "nothing_to_discount"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """How far the cart is from satisfying a condition, e.g. 450 more minor units."""

    amount: int
