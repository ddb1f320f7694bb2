"""Promotions as values: what a code gives (its benefit) and what it asks of the order."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeAlias
from uuid import UUID

from app.domain.money import BASIS_POINTS_WHOLE, percent_of


@dataclass(frozen=True, slots=True)
class PercentOff:
    """basis_points of the base, rounded half up, then capped at max_amount when set."""

    kind: ClassVar[str] = "percent_off"
    basis_points: int
    max_amount: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.basis_points <= BASIS_POINTS_WHOLE:
            raise ValueError("basis_points must be in 1..10000")
        if self.max_amount is not None and self.max_amount <= 0:
            raise ValueError("max_amount must be positive")

    def amount_for(self, base_amount: int) -> int:
        discount = percent_of(base_amount, self.basis_points)
        if self.max_amount is not None:
            discount = min(discount, self.max_amount)
        return discount


@dataclass(frozen=True, slots=True)
class AmountOff:
    """A fixed amount, clamped to the base so an order never goes below zero."""

    kind: ClassVar[str] = "amount_off"
    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("amount must be positive")

    def amount_for(self, base_amount: int) -> int:
        return min(self.amount, base_amount)


Benefit: TypeAlias = PercentOff | AmountOff

RULE_KINDS: dict[str, type[PercentOff] | type[AmountOff]] = {
    PercentOff.kind: PercentOff,
    AmountOff.kind: AmountOff,
}


@dataclass(frozen=True, slots=True)
class Promotion:
    """One code as the engine sees it: its campaign's terms, the code's own terms, and the usage
    counts read at evaluation time (the database enforces the limits again when consuming)."""

    code_id: UUID
    campaign_id: UUID
    code: str
    benefit: Benefit
    is_active: bool
    currency: str | None
    min_subtotal_amount: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    expires_at: datetime | None
    bound_customer_id: str | None
    max_redemptions: int | None
    redemption_count: int
    per_customer_limit: int | None
    customer_redemption_count: int
    campaign_per_customer_limit: int | None
    campaign_customer_redemption_count: int

    @property
    def needs_customer(self) -> bool:
        return (
            self.bound_customer_id is not None
            or self.per_customer_limit is not None
            or self.campaign_per_customer_limit is not None
        )
