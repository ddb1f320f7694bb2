"""The audit trail: who (which API key) did what, when and why."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Action(StrEnum):
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    ISSUING_LIMITS_SET = "api_key.issuing_limits_set"
    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_UPDATED = "campaign.updated"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CODE_CREATED = "code.created"
    CODE_UPDATED = "code.updated"
    CODE_DISABLED = "code.disabled"
    CODE_ENABLED = "code.enabled"
    CODE_DELETED = "code.deleted"
    CODES_GENERATION_STARTED = "codes.generation_started"
    CODES_IMPORTED = "codes.imported"
    CODE_CLAIMED = "code.claimed"
    SUPPORT_CODE_ISSUED = "support_code.issued"
    LOYALTY_PROGRAM_CREATED = "loyalty_program.created"
    LOYALTY_PROGRAM_UPDATED = "loyalty_program.updated"
    LOYALTY_REWARD_CREATED = "loyalty_reward.created"
    LOYALTY_REWARD_UPDATED = "loyalty_reward.updated"
    POINTS_ADJUSTED = "loyalty.points_adjusted"
    GIFT_CARD_ISSUED = "gift_card.issued"
    GIFT_CARD_TOPPED_UP = "gift_card.topped_up"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled"
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery.replayed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a write records; the database adds its id and time."""

    action: Action
    api_key_id: UUID | None
    campaign_id: UUID | None = None
    customer_id: str | None = None
    subject_id: UUID | None = None
    reason: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: UUID
    at: datetime
    entry: AuditEntry
