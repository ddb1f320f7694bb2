"""Events: what the feed (GET /v1/events) and webhooks tell other systems. They are written by
database triggers in the transaction of the change itself (migration 9e4b7c2d5a18); this names
them, and places them in the feed."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class EventType(StrEnum):
    """Every type an event can have, as the triggers write them."""

    REDEMPTION_CREATED = "redemption.created"
    REDEMPTION_RETURNED = "redemption.returned"
    REDEMPTION_ROLLED_BACK = "redemption.rolled_back"
    HOLD_PLACED = "hold.placed"
    HOLD_REDEEMED = "hold.redeemed"
    HOLD_RELEASED = "hold.released"
    HOLD_EXPIRED = "hold.expired"
    CODE_ISSUED = "code.issued"
    CODE_CLAIMED = "code.claimed"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_BUDGET_EXHAUSTED = "campaign.budget_exhausted"
    POINTS_EARNED = "points.earned"
    POINTS_SPENT = "points.spent"
    POINTS_REVERSED = "points.reversed"
    POINTS_EXPIRED = "points.expired"
    POINTS_ADJUSTED = "points.adjusted"
    POINTS_EXPIRING = "points.expiring"
    """Announced by POST /v1/expiry-notice-runs, once per lot, per member and run."""
    GIFT_CARD_ISSUED = "gift_card.issued"
    GIFT_CARD_TOPPED_UP = "gift_card.topped_up"
    GIFT_CARD_PAID = "gift_card.paid"
    GIFT_CARD_REFUNDED = "gift_card.refunded"
    GIFT_CARD_EXPIRED = "gift_card.expired"
    GIFT_CARD_ADJUSTED = "gift_card.adjusted"
    WALLET_CASHBACK_CREDITED = "wallet.cashback_credited"
    WALLET_TOPPED_UP = "wallet.topped_up"
    """Money put in by the service itself (a referral reward)."""
    WALLET_PAID = "wallet.paid"
    WALLET_REFUNDED = "wallet.refunded"
    WALLET_REVERSED = "wallet.reversed"
    WALLET_EXPIRED = "wallet.expired"


EVENT_TYPES = frozenset(EventType)


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where an event is in the feed: its transaction's id, then its own."""

    txid: int
    id: int


START = Position(0, 0)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    subject_id: UUID | None
    data: dict[str, Any]
    created_at: datetime
    cursor: str
    """Pass it as `after` to read the events that follow this one."""
