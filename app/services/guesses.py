"""Failed code guesses (domain/guesses.py): whose allowance a request uses, the 429 once it is
used up, and the alarm when a key's guesses pass what a shop's checkout normally sees."""

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias
from uuid import UUID

from app import metrics
from app.domain.guesses import (
    Subject,
    Tally,
    crossed,
    is_unaddressed,
    spent_before,
    subjects,
)
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


# A repository's statement that adds failures to subjects in a window and returns the tallies.
Record: TypeAlias = Callable[
    [Sequence[Subject], int, datetime, timedelta], Awaitable[Mapping[str, Tally]]
]


async def count_failed_guesses(
    record: Record,
    key_id: UUID,
    counted: Sequence[Subject],
    failures: int,
    now: datetime,
    guesses: GuessSettings,
) -> None:
    """Add a request's failed guesses to its counters (record: the repository's statement,
    on the caller's connection or transaction), report the thresholds they passed, and
    refuse the request (429) if a concurrent request had used up a blocking allowance first,
    so the answer it would give is never sent."""
    tallies = await record(counted, failures, now, timedelta(seconds=guesses.window_seconds))
    metrics.failed_guesses(failures, addressed=not is_unaddressed(counted))
    _report_crossings(key_id, counted, tallies, failures)
    refuse_if_blocked(spent_before(counted, tallies, failures), now)


def _report_crossings(
    key_id: UUID, counted: Sequence[Subject], tallies: Mapping[str, Tally], added: int
) -> None:
    """Log the thresholds this addition passed: a key's alarm once per window (someone may be
    guessing through the shop's checkout from many customers and addresses), and blocks. (In
    a redeem refused for a concurrent request's spending, the transaction and its count roll
    back, and the next request may report the same crossing again.)"""
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
