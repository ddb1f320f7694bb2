"""Facts about the moment and the customer that a verdict depends on."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    now: datetime
    customer_id: str | None
