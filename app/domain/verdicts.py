"""What a customer's refused codes are logged as, for support: each refused code of a request
that named a customer (domain/engine.py's verdicts)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from app.domain.engine import Evaluation
from app.domain.reasons import Reason


class VerdictSource(StrEnum):
    VALIDATE = "validate"
    REDEEM = "redeem"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class LoggedVerdict:
    customer_id: str
    at: datetime
    source: VerdictSource
    code: str
    """As typed."""
    reason: Reason
    campaign_id: UUID | None


def refused_codes(
    evaluation: Evaluation, customer_id: str | None, source: VerdictSource, at: datetime
) -> list[LoggedVerdict]:
    """The evaluation's refused codes, for a request that named a customer (none otherwise)."""
    if customer_id is None:
        return []
    return [
        LoggedVerdict(
            customer_id,
            at,
            source,
            verdict.code[:100],
            verdict.refusal.reason,
            verdict.promotion.campaign_id if verdict.promotion is not None else None,
        )
        for verdict in evaluation.verdicts
        if verdict.refusal is not None
    ]
