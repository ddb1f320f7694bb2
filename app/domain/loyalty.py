"""Loyalty programs: how many points an order earns, and which tier a member is in.

Points are whole numbers; an earn rounds down (a shop never gives a point that was not earned).
Multipliers are percentages (150 = 1.5x), so nothing here is a float.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from uuid import UUID


class TierBasis(StrEnum):
    """Which points place a member in a tier: every point ever earned, or those earned in the
    last 12 months (so a tier has to be kept up)."""

    LIFETIME = "lifetime"
    ROLLING_12_MONTHS = "rolling_12_months"


class ProgramStatus(StrEnum):
    """An archived program earns nothing more; balances stay readable and spendable."""

    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class Tier:
    key: str
    label: str
    # Qualifying points needed to reach the tier; the first tier starts at 0.
    threshold: int
    multiplier_percent: int


@dataclass(frozen=True, slots=True)
class EarnRate:
    """`points` for every `per_amount` minor units paid (2 per 100 = 2 points per 1.00)."""

    points: int
    per_amount: int


@dataclass(frozen=True, slots=True)
class Program:
    id: UUID
    name: str
    currency: str
    earn_rate: EarnRate
    tier_basis: TierBasis
    tiers: tuple[Tier, ...]
    expiry_days: int | None
    pending_days: int
    allow_negative_balance: bool
    status: ProgramStatus
    created_at: datetime
    updated_at: datetime

    def available_from(self, earned_at: datetime) -> datetime:
        """When points earned at earned_at can be spent: after the pending period."""
        return earned_at + timedelta(days=self.pending_days)

    def expiry_of(self, credited_at: datetime) -> datetime | None:
        """When points credited at credited_at expire (None: never)."""
        if self.expiry_days is None:
            return None
        return credited_at + timedelta(days=self.expiry_days)


@dataclass(frozen=True, slots=True)
class Reward:
    """Spend points_cost points for a single-use code worth amount off an order of at least
    min_subtotal (both in the program's currency), bound to the member."""

    id: UUID
    program_id: UUID
    campaign_id: UUID
    name: str
    points_cost: int
    amount: int
    min_subtotal: int | None
    valid_days: int
    status: ProgramStatus
    created_at: datetime


def tiers_problem(tiers: Sequence[Tier]) -> str | None:
    """Why a tier ladder cannot be used, or None: it starts at 0, thresholds rise strictly,
    keys are unique, and a higher tier never earns less."""
    if not tiers:
        return None
    if tiers[0].threshold != 0:
        return "The first tier must start at 0 points, so every member has a tier."
    keys = [tier.key for tier in tiers]
    if len(set(keys)) != len(keys):
        return "Tier keys must be unique."
    for lower, higher in pairwise(tiers):
        if higher.threshold <= lower.threshold:
            return (
                f"Tier '{higher.key}' must need more points than '{lower.key}' "
                f"({higher.threshold} <= {lower.threshold})."
            )
        if higher.multiplier_percent < lower.multiplier_percent:
            return f"Tier '{higher.key}' earns less than the lower tier '{lower.key}'."
    return None


@dataclass(frozen=True, slots=True)
class Standing:
    tier: Tier | None
    next_tier: Tier | None
    points_to_next_tier: int | None


def standing(tiers: Sequence[Tier], qualifying_points: int) -> Standing:
    """The highest tier whose threshold the points reach, the next one and how far it is."""
    current: Tier | None = None
    following: Tier | None = None
    for tier in tiers:
        if qualifying_points >= tier.threshold:
            current = tier
        else:
            following = tier
            break
    return Standing(
        tier=current,
        next_tier=following,
        points_to_next_tier=None if following is None else following.threshold - qualifying_points,
    )


# What one earn may credit: well inside PostgreSQL's bigint, so sums over an account's lots stay
# exact (and it is also the largest adjustment the API takes).
MAX_POINTS_PER_CREDIT = 10**12


def points_for(amount: int, rate: EarnRate, multiplier_percent: int = 100) -> int:
    """Points earned by paying amount (minor units) at this rate and multiplier, rounded down."""
    if amount <= 0:
        return 0
    return (amount * rate.points * multiplier_percent) // (rate.per_amount * 100)
