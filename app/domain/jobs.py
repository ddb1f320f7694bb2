"""Durable jobs, pure: what a job is, when a failed one is tried again, and which slot of a
periodic schedule an instant falls in.

A job is a row of the jobs table that a worker claims with a lease (a fresh token and an end
time). Whoever holds the current token owns the job; every write the job makes is fenced by
that token, so a worker whose lease lapsed and was taken over can no longer write.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID


class JobKind(StrEnum):
    GENERATE_CODES = "generate_codes"
    EXPIRE_POINTS = "expire_points"
    LAPSE_HOLDS = "lapse_holds"
    PURGE = "purge"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    id: UUID
    kind: JobKind
    payload: Mapping[str, object]
    status: JobStatus
    run_at: datetime
    attempts: int
    """Runs started (claims), including runs whose worker died."""
    lease_token: UUID | None
    lease_until: datetime | None
    error: str | None
    dedupe_key: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


_FIRST_RETRY = timedelta(seconds=10)
_LONGEST_WAIT = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """How long a job waits after its attempts-th failed run: 10 s, doubling, at most an hour."""
    # The doubling stops long before the cap is passed, so that the product stays small.
    doublings = min(max(attempts - 1, 0), 16)
    return min(_FIRST_RETRY * (1 << doublings), _LONGEST_WAIT)


def retry_after(attempts: int, max_attempts: int) -> timedelta | None:
    """backoff(attempts), or None once max_attempts runs have been made (the job has
    failed)."""
    if attempts >= max_attempts:
        return None
    return backoff(attempts)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job enqueued once per slot of `every`, slots counted from the Unix epoch, so that
    every worker computes the same slots without talking to the others."""

    name: str
    kind: JobKind
    every: timedelta

    def slot(self, now: datetime) -> datetime:
        """The start of the slot now is in (now floored to a multiple of every)."""
        return _EPOCH + self.every * ((now - _EPOCH) // self.every)

    def dedupe_key(self, now: datetime) -> str:
        """The key that makes the slot's job one row however many workers enqueue it."""
        return f"{self.name}:{self.slot(now).isoformat()}"
