"""Promotions as values: what they give (effects), to what (target), when (conditions), and how
they stack (priority, exclusivity), together with the usage counts read at evaluation time."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.benefits import CalculationBase, Effect
from app.domain.budgets import BudgetLeft
from app.domain.conditions import Conditions, Target
from app.domain.money import Rounding
from app.domain.periods import PeriodKey, PeriodLimits


@dataclass(frozen=True, slots=True)
class Rules:
    effects: tuple[Effect, ...]
    target: Target = field(default_factory=Target)
    conditions: Conditions = field(default_factory=Conditions)
    periods: PeriodLimits = field(default_factory=PeriodLimits)
    rounding: Rounding = Rounding.HALF_UP
    base: CalculationBase = CalculationBase.STANDARD

    def __post_init__(self) -> None:
        if not self.effects:
            raise ValueError("a promotion needs at least one effect")

    def money(self) -> Iterator[Mapping[str, int]]:
        """Every per-currency amount that is set; a cart's currency must be in each of them."""
        for effect in self.effects:
            yield from (amounts for amounts in effect.money() if amounts)
        if self.conditions.min_subtotal_amounts:
            yield self.conditions.min_subtotal_amounts
        for condition in self.conditions.cart:
            yield from (amounts for amounts in condition.money() if amounts)

    def accepts_currency(self, currency: str) -> bool:
        """Whether every amount that is set has an entry for currency (what money() yields,
        checked without its generators: this runs for every candidate of every evaluation)."""
        for effect in self.effects:
            for amounts in effect.money():
                if amounts and currency not in amounts:
                    return False
        for condition in self.conditions.cart:
            for amounts in condition.money():
                if amounts and currency not in amounts:
                    return False
        minimum = self.conditions.min_subtotal_amounts
        return not minimum or currency in minimum

    def currencies(self) -> frozenset[str] | None:
        """The currencies a cart may be in: those every amount that is set has an entry for;
        None when no amount is set (any currency)."""
        common: frozenset[str] | None = None
        for amounts in self.money():
            common = frozenset(amounts) if common is None else common & frozenset(amounts)
        return common

    @property
    def stage(self) -> int:
        return min(effect.stage for effect in self.effects)


class ExclusiveConflict(StrEnum):
    """What an exclusive promotion does when another would also apply."""

    PRIORITY = "priority"
    """It wins by stacking order: applied first, it shuts the others out; applied after
    another, it is refused (not_combinable). The default."""
    REFUSE = "refuse"
    """It steps aside: refused (not_combinable) whenever any other promotion applies, whatever
    the priorities; it applies only alone."""


@dataclass(frozen=True, slots=True)
class Stacking:
    """Higher priority applies first. An exclusive promotion never combines with another; a
    line-exclusive one only takes lines no other promotion discounted, and keeps them."""

    priority: int = 0
    is_exclusive: bool = False
    is_line_exclusive: bool = False
    exclusive_conflict: ExclusiveConflict = ExclusiveConflict.PRIORITY
    best_of: str | None = None
    """A group name: of the promotions in one group that would apply, only the one giving the
    most (line and shipping discount, then cashback) applies, where the group's first member
    comes in stacking order; the others are refused as better_offer_applied."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Limits and the counts read with them (the database enforces the limits again when it
    consumes them)."""

    max_redemptions: int | None = None
    redemption_count: int = 0
    per_customer_limit: int | None = None
    customer_redemption_count: int = 0
    campaign_per_customer_limit: int | None = None
    campaign_customer_redemption_count: int = 0


@dataclass(frozen=True, slots=True)
class Promotion:
    """A campaign as one code (or, with code None, as an automatic promotion) presents it."""

    campaign_id: UUID
    name: str
    rules: Rules
    code_id: UUID | None = None
    code: str | None = None
    stacking: Stacking = field(default_factory=Stacking)
    usage: Usage = field(default_factory=Usage)
    is_active: bool = True
    # The code is switched off on its own (never for an automatic promotion).
    is_disabled: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    expires_at: datetime | None = None
    bound_customer_id: str | None = None
    budget: BudgetLeft | None = None
    """What its campaign's budgets had left when read; None: the campaign has none."""
    period_used: Mapping[PeriodKey, int] = field(default_factory=dict)
    """Its period counters as read (domain/periods.py): the recent ones of its campaign, of
    its code and of the customer."""
    referrer_id: str | None = None
    """A referrer's personal code: that customer may not use it (domain/referrals.py)."""
    referrer_email_key: str | None = None
    """Nor may a customer whose e-mail has this key."""

    @property
    def is_automatic(self) -> bool:
        return self.code_id is None

    @property
    def needs_customer(self) -> bool:
        return (
            self.bound_customer_id is not None
            or self.referrer_id is not None
            or self.usage.per_customer_limit is not None
            or self.usage.campaign_per_customer_limit is not None
            or self.rules.periods.needs_customer
        )

    @property
    def stacking_key(self) -> tuple[int, int, bool, int, str]:
        """Order of application: priority (high first); on a tie, unit-level effects before
        order-level ones before shipping and cashback (benefits.stage), codes before automatic
        promotions, then the campaign id, so the request's order never matters.

        The campaign id is compared as its 128-bit integer, which orders exactly like its
        canonical text (fixed-width lower-case hex), without formatting it on every call."""
        return (
            -self.stacking.priority,
            self.rules.stage,
            self.is_automatic,
            self.campaign_id.int,
            self.code or "",
        )
