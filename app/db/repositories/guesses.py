"""Failed code guesses, counted per subject in fixed windows (domain/guesses.py)."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.db.driver import fetch
from app.db.models import GuessFailure
from app.db.repositories.base import Repository
from app.domain.guesses import Subject, Tally

# Add failed guesses to each subject's count for its current fixed window (a window that has
# passed starts again at now), and mark the subject over its threshold to the window's end once
# the count reaches it (whether that refuses anything is up to the reader: blocking subjects
# do, the key's alarm does not). The upsert takes each subject's row lock, so counts add up
# exactly. Returns each count after the addition, so the caller sees which thresholds it passed.
RECORD_FAILURES = """
INSERT INTO guess_failures AS g (subject, window_start, failures, threshold, blocked_until)
SELECT s.subject, $3::timestamptz, $4::integer, s.threshold,
       CASE WHEN $4::integer >= s.threshold THEN $3::timestamptz + $5::interval END
FROM unnest($1::text[], $2::integer[]) AS s(subject, threshold)
ON CONFLICT (subject) DO UPDATE SET
    window_start = CASE WHEN g.window_start + $5::interval <= $3::timestamptz
                        THEN $3::timestamptz ELSE g.window_start END,
    failures = CASE WHEN g.window_start + $5::interval <= $3::timestamptz
                    THEN $4::integer ELSE g.failures + $4::integer END,
    threshold = excluded.threshold,
    blocked_until = CASE
        WHEN g.window_start + $5::interval <= $3::timestamptz THEN excluded.blocked_until
        WHEN g.failures + $4::integer >= excluded.threshold THEN g.window_start + $5::interval
        ELSE g.blocked_until
    END
RETURNING g.subject, g.failures, g.blocked_until
"""


def tallies(rows: Iterable[Any]) -> dict[str, Tally]:
    return {row["subject"]: Tally(row["failures"], row["blocked_until"]) for row in rows}


def record_arguments(
    subjects: Sequence[Subject], failures: int, now: datetime, window: timedelta
) -> list[Any]:
    names = [subject.name for subject in subjects]
    return [names, [subject.threshold for subject in subjects], now, failures, window]


class GuessRepository(Repository):
    """The same counters inside a redeem's transaction."""

    async def blocked_until(self, subjects: Sequence[str], now: datetime) -> datetime | None:
        stmt = select(func.max(GuessFailure.blocked_until)).where(
            GuessFailure.subject.in_(list(subjects)), GuessFailure.blocked_until > now
        )
        until: datetime | None = (await self.session.execute(stmt)).scalar_one()
        return until

    async def record(
        self, subjects: Sequence[Subject], failures: int, now: datetime, window: timedelta
    ) -> dict[str, Tally]:
        """Add failures to each subject; each subject's tally in its window afterwards. The
        rows stay locked to the end of the transaction."""
        arguments = record_arguments(subjects, failures, now, window)
        rows = await fetch(await self.session.connection(), RECORD_FAILURES, arguments)
        return tallies(rows)
