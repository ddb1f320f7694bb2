"""Deleting what has served its time: expired idempotency keys, ended failed-guess windows,
old logged verdicts, old events with their webhook deliveries, and old finished jobs.
Each call deletes one batch, taking rows with SKIP LOCKED, so purges running at once share
the work instead of queueing on each other or on live requests."""

from datetime import datetime

from sqlalchemy import delete, or_, select, tuple_

from app.db.models import Event, GuessFailure, IdempotencyKey, VerdictLog, WebhookDelivery
from app.db.models import Job as JobRow
from app.db.repositories.base import Repository
from app.domain.jobs import JobStatus


class PurgeRepository(Repository):
    async def idempotency_keys(self, created_before: datetime, batch: int) -> int:
        """Delete up to batch keys created before created_before; how many went."""
        expired = (
            select(IdempotencyKey.api_key_id, IdempotencyKey.key)
            .where(IdempotencyKey.created_at < created_before)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            delete(IdempotencyKey)
            .where(tuple_(IdempotencyKey.api_key_id, IdempotencyKey.key).in_(expired))
            .returning(IdempotencyKey.key)
        )
        return len(result.all())

    async def verdicts(self, logged_before: datetime, batch: int) -> int:
        """Delete up to batch logged verdicts older than logged_before; how many went."""
        old = (
            select(VerdictLog.id)
            .where(VerdictLog.at < logged_before)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            delete(VerdictLog).where(VerdictLog.id.in_(old)).returning(VerdictLog.id)
        )
        return len(result.all())

    async def guess_windows(self, started_before: datetime, now: datetime, batch: int) -> int:
        """Delete up to batch failed-guess windows that began before started_before and block
        nothing any more; how many went."""
        ended = (
            select(GuessFailure.subject)
            .where(
                GuessFailure.window_start < started_before,
                or_(GuessFailure.blocked_until.is_(None), GuessFailure.blocked_until <= now),
            )
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            delete(GuessFailure)
            .where(GuessFailure.subject.in_(ended))
            .returning(GuessFailure.subject)
        )
        return len(result.all())

    async def events(self, created_before: datetime, batch: int) -> int:
        """Delete up to batch events older than created_before, with their deliveries
        (delivered, failed or still waiting alike); how many events went."""
        old = (
            select(Event.id)
            .where(Event.created_at < created_before)
            .order_by(Event.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(old)).scalars())
        if not ids:
            return 0
        await self.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids)))
        await self.session.execute(delete(Event).where(Event.id.in_(ids)))
        return len(ids)

    async def jobs(self, finished_before: datetime, batch: int) -> int:
        """Delete up to batch jobs that ended before finished_before; how many went."""
        old = (
            select(JobRow.id)
            .where(
                JobRow.status.in_([JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]),
                JobRow.finished_at < finished_before,
            )
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            delete(JobRow).where(JobRow.id.in_(old)).returning(JobRow.id)
        )
        return len(result.all())
