"""The jobs queue: enqueue (once per dedupe key), claim a due job with FOR UPDATE SKIP LOCKED and
a lease, and the writes fenced by the lease's token (renew, finish, retry, release): each one
changes the row only while the token is still the job's, so a worker whose lease lapsed and was
taken over learns that it lost the job and changes nothing."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.dml import ReturningUpdate

from app.db.models import Job as JobRow
from app.db.repositories.base import Repository
from app.domain.jobs import Job, JobKind, JobStatus

_COLUMNS = (
    JobRow.id,
    JobRow.kind,
    JobRow.payload,
    JobRow.status,
    JobRow.run_at,
    JobRow.attempts,
    JobRow.lease_token,
    JobRow.lease_until,
    JobRow.error,
    JobRow.dedupe_key,
    JobRow.created_at,
    JobRow.updated_at,
    JobRow.finished_at,
)

# The oldest due job: queued and due, or running with a lapsed lease (its worker died). Jobs
# another claim or a running step holds are skipped, never waited for. `status IN (...)` is
# the partial index's predicate, stated so that the planner uses it. Only kinds this code
# knows are claimed: a kind added by a newer version waits for a worker of that version
# instead of failing here on every poll (a rolling deploy).
#
# MATERIALIZED: the pick runs once. Joined as a subquery, the planner may put it on the inner
# side of a nested loop and run it again for every row of jobs, each run locking and returning
# the next unlocked job (SKIP LOCKED), so that one claim took several (seen in a test).
_CLAIM = text(
    """
WITH due AS MATERIALIZED (
    SELECT id FROM jobs
    WHERE status IN ('queued', 'running')
      AND ((status = 'queued' AND run_at <= :now) OR (status = 'running' AND lease_until < :now))
      AND kind = ANY(:kinds)
    ORDER BY run_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs
SET status = 'running', lease_token = gen_random_uuid(), lease_until = :lease_until,
    attempts = jobs.attempts + 1, updated_at = :now
FROM due
WHERE jobs.id = due.id
RETURNING jobs.id, jobs.kind, jobs.payload, jobs.status, jobs.run_at, jobs.attempts,
          jobs.lease_token, jobs.lease_until, jobs.error, jobs.dedupe_key, jobs.created_at,
          jobs.updated_at, jobs.finished_at
"""
)


_KINDS = [kind.value for kind in JobKind]


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=JobKind(row.kind),
        payload=row.payload,
        status=JobStatus(row.status),
        run_at=row.run_at,
        attempts=row.attempts,
        lease_token=row.lease_token,
        lease_until=row.lease_until,
        error=row.error,
        dedupe_key=row.dedupe_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


class JobRepository(Repository):
    async def enqueue(
        self,
        kind: JobKind,
        payload: Mapping[str, Any],
        *,
        run_at: datetime | None = None,
        dedupe_key: str | None = None,
    ) -> UUID | None:
        """Queue a job to run from run_at (now by default); None when a job with this
        dedupe_key exists already (jobs without a key never collide)."""
        values: dict[str, Any] = {"kind": kind.value, "payload": dict(payload)}
        if run_at is not None:
            values["run_at"] = run_at
        if dedupe_key is not None:
            values["dedupe_key"] = dedupe_key
        inserted = await self.session.execute(
            pg_insert(JobRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[JobRow.dedupe_key])
            .returning(JobRow.id)
        )
        return inserted.scalar_one_or_none()

    async def claim(self, now: datetime, lease_until: datetime) -> Job | None:
        """Claim the oldest due job with a fresh lease token until lease_until, counting an
        attempt; None when nothing is due."""
        row = (
            await self.session.execute(
                _CLAIM, {"now": now, "lease_until": lease_until, "kinds": _KINDS}
            )
        ).one_or_none()
        return None if row is None else _job(row)

    def _fenced(self, job_id: UUID, token: UUID) -> ReturningUpdate[tuple[UUID]]:
        return (
            update(JobRow)
            .where(
                JobRow.id == job_id,
                JobRow.lease_token == token,
                JobRow.status == JobStatus.RUNNING.value,
            )
            .returning(JobRow.id)
        )

    async def renew(self, job_id: UUID, token: UUID, now: datetime, lease_until: datetime) -> bool:
        """Extend the lease, locking the job's row until this transaction ends; False when the
        token is no longer the job's (another worker took it over, or it has ended)."""
        # Never earlier than it was: a renewal that waited for the row (a step held it) carries
        # an end computed before the wait.
        renewed = await self.session.execute(
            self._fenced(job_id, token).values(
                lease_until=func.greatest(JobRow.lease_until, lease_until), updated_at=now
            )
        )
        return renewed.one_or_none() is not None

    async def finish(
        self,
        job_id: UUID,
        token: UUID,
        status: JobStatus,
        now: datetime,
        error: str | None = None,
        *,
        ran: bool = True,
    ) -> bool:
        """End the job as succeeded or failed, if the token is still the job's. ran=False: the
        claim that holds the token started no run, and its attempt is not counted."""
        assert status in (JobStatus.SUCCEEDED, JobStatus.FAILED), "a job ends one of two ways"
        finished = await self.session.execute(
            self._fenced(job_id, token).values(
                status=status.value,
                error=error,
                attempts=JobRow.attempts if ran else JobRow.attempts - 1,
                updated_at=now,
                finished_at=now,
            )
        )
        return finished.one_or_none() is not None

    async def retry(
        self,
        job_id: UUID,
        token: UUID,
        now: datetime,
        run_at: datetime,
        error: str,
        *,
        counted: bool = True,
    ) -> bool:
        """Queue the job again from run_at, noting why its run failed, if the token is still
        the job's. counted=False: the run's attempt is taken back (the database failed it)."""
        queued = await self.session.execute(
            self._fenced(job_id, token).values(
                status=JobStatus.QUEUED.value,
                run_at=run_at,
                error=error,
                attempts=JobRow.attempts if counted else JobRow.attempts - 1,
                lease_token=None,
                lease_until=None,
                updated_at=now,
            )
        )
        return queued.one_or_none() is not None

    async def release(self, job_id: UUID, token: UUID, now: datetime) -> bool:
        """Give the job back, due at once and its attempt not counted (its worker is stopping,
        the run did not fail), if the token is still the job's."""
        released = await self.session.execute(
            self._fenced(job_id, token).values(
                status=JobStatus.QUEUED.value,
                run_at=now,
                attempts=JobRow.attempts - 1,
                lease_token=None,
                lease_until=None,
                updated_at=now,
            )
        )
        return released.one_or_none() is not None

    async def get(self, job_id: UUID) -> Job | None:
        row = (
            await self.session.execute(select(*_COLUMNS).where(JobRow.id == job_id))
        ).one_or_none()
        return None if row is None else _job(row)
