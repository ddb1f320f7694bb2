"""Facts about the moment and the customer that a verdict depends on."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    now: datetime
    customer_id: str | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    is_first_order: bool | None = None
    market: str | None = None
    locale: str | None = None
    email_key: str | None = None
    """referrals.email_key of the customer's e-mail, when the checkout sent it."""
