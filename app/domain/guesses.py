"""Failed code guesses: which verdicts count as one, and whose allowance they use."""

from uuid import UUID

from app.domain.engine import Evaluation
from app.domain.reasons import Reason

# A code that does not exist, or one that exists for somebody else: what someone trying
# codes at random gets.
GUESS_REASONS = frozenset({Reason.NOT_FOUND, Reason.CUSTOMER_MISMATCH})


def failed_guesses(evaluation: Evaluation) -> int:
    return sum(
        1
        for verdict in evaluation.verdicts
        if verdict.refusal is not None and verdict.refusal.reason in GUESS_REASONS
    )


def subjects(
    key_id: UUID, customer_id: str | None, *, per_key: int, per_customer: int
) -> list[tuple[str, int]]:
    """The counters a failed guess adds to, each with its threshold: the API key's always,
    the customer's when the request names one."""
    counted = [(f"key:{key_id}", per_key)]
    if customer_id is not None:
        counted.append((f"customer:{customer_id}", per_customer))
    return counted
