"""Failed code guesses (domain/guesses.py): whose allowance a request uses, the 429 once it is
used up, and the alarm when a key's guesses pass what a shop's checkout normally sees."""

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from app import metrics
from app.domain.guesses import Subject, Tally, crossed, spent_before, subjects
from app.services.errors import TooManyFailedGuesses
from app.settings import GuessSettings

logger = logging.getLogger("tessera.guesses")


def guess_subjects(
    key_id: UUID, customer_id: str | None, client_ip: str | None, guesses: GuessSettings
) -> list[Subject]:
    """The counters a failed guess of this request adds to, with the configured thresholds."""
    return subjects(key_id, customer_id, client_ip, guesses.limits())


def refuse_if_blocked(blocked_until: datetime | None, now: datetime) -> None:
    """429 while the customer or the client address has used up its failed guesses for the
    window. It does not depend on the codes sent, so it says nothing about whether any of
    them exist."""
    if blocked_until is not None and blocked_until > now:
        wait = math.ceil((blocked_until - now).total_seconds())
        raise TooManyFailedGuesses(
            f"Too many unknown codes were tried for this customer or from this address; try "
            f"codes again in {wait} s.",
            retry_after=wait,
        )


def settle(
    key_id: UUID,
    counted: Sequence[Subject],
    tallies: Mapping[str, Tally],
    added: int,
    now: datetime,
) -> None:
    """After a request's failed guesses were counted: refuse it (429) if a concurrent request
    had used up a blocking allowance first, so the answer it would give is never sent; count
    them, and log the thresholds this addition passed (a key's alarm once per window: someone
    may be guessing through the shop's checkout from many customers and addresses)."""
    metrics.failed_guesses(added)
    spent_until = spent_before(counted, tallies, added)
    if spent_until is not None:
        refuse_if_blocked(spent_until, now)
    for subject in counted:
        tally = tallies.get(subject.name)
        if tally is None or not crossed(tally.failures, added, subject.threshold):
            continue
        if subject.blocks:
            logger.info(
                "failed-guess allowance used up; blocked until the window ends",
                extra={"subject_kind": subject.name.split(":", 1)[0], "api_key_id": str(key_id)},
            )
        else:
            metrics.guess_alarm()
            logger.warning(
                "failed-guess alarm: the key passed %d failed guesses in one window",
                subject.threshold,
                extra={"api_key_id": str(key_id)},
            )
