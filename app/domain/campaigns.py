"""Campaigns and their codes as stored: plain values handed between layers."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.rules import Benefit


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Campaign:
    id: UUID
    name: str
    status: CampaignStatus
    currency: str | None
    benefit: Benefit
    min_subtotal_amount: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    per_customer_limit: int | None
    metadata: Mapping[str, object]
    created_at: datetime
    updated_at: datetime


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
    created_at: datetime
