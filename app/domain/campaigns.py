"""Campaigns and their codes as stored: plain values handed between layers."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.budgets import Budget
from app.domain.rules import Rules, Stacking


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Trigger(StrEnum):
    """How a campaign reaches an order: through codes typed at checkout, or by itself."""

    CODE = "code"
    AUTOMATIC = "automatic"


class CampaignKind(StrEnum):
    """'support': made by a support agent for one apology code; 'reward': holds the codes a
    loyalty reward hands out for points; 'referral': a referral program's friend reward,
    given through each referrer's personal code."""

    STANDARD = "standard"
    SUPPORT = "support"
    REWARD = "reward"
    REFERRAL = "referral"


class CodeSource(StrEnum):
    """Where a code came from: created by name, one of a pool's generated or imported codes
    (which a claim hands to one customer), issued by a support agent, or bought with loyalty
    points."""

    NAMED = "named"
    GENERATED = "generated"
    IMPORTED = "imported"
    SUPPORT = "support"
    REWARD = "reward"


@dataclass(frozen=True, slots=True)
class Campaign:
    id: UUID
    name: str
    status: CampaignStatus
    trigger: Trigger
    kind: CampaignKind
    rules: Rules
    stacking: Stacking
    starts_at: datetime | None
    ends_at: datetime | None
    per_customer_limit: int | None
    metadata: Mapping[str, object]
    created_at: datetime
    updated_at: datetime
    budget: Budget = field(default_factory=Budget)
    budget_used: Mapping[str, int] = field(default_factory=dict)
    """What the campaign has used of each capped unit (domain/budgets.py)."""
    honour_holds: bool = True
    """Whether its holds may still be redeemed while it is paused."""
    advertised: bool = False
    """Whether its public named codes are offered to every shopper (qualifications)."""


@dataclass(frozen=True, slots=True)
class Code:
    id: UUID
    campaign_id: UUID
    code: str
    max_redemptions: int | None
    redemption_count: int
    per_customer_limit: int | None
    customer_id: str | None
    expires_at: datetime | None
    source: CodeSource
    assigned_at: datetime | None
    created_at: datetime
    # Set while the code is switched off on its own (its campaign may still run).
    disabled_at: datetime | None
