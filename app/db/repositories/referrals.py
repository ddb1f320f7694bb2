"""Referral programs, referrers' codes and referrals (domain/referrals.py)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import Code as CodeRow
from app.db.models import FeedCursor, Referral, ReferralProgram
from app.db.repositories.base import Repository
from app.domain.events import START, Position


@dataclass(frozen=True, slots=True)
class ProgramRecord:
    id: UUID
    campaign_id: UUID
    window_days: int
    advocate_points: int | None
    advocate_program_id: UUID | None
    advocate_amount: int | None
    advocate_currency: str | None
    advocate_campaign_id: UUID | None
    advocate_code_days: int | None
    max_rewards: int | None
    max_rewards_period: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    id: UUID
    program_id: UUID
    code_id: UUID
    referrer_id: str
    referee_id: str
    redemption_id: UUID
    status: str
    reason: str | None
    due_at: datetime
    settled_at: datetime | None
    reward_entry_id: UUID | None
    reward_code_id: UUID | None
    created_at: datetime


_PROGRAM_COLUMNS = tuple(ReferralProgram.__table__.columns)
_REFERRAL_COLUMNS = tuple(Referral.__table__.columns)


def _program(row: Any) -> ProgramRecord:
    return ProgramRecord(**row._mapping)


def _referral(row: Any) -> ReferralRecord:
    return ReferralRecord(**row._mapping)


class ReferralRepository(Repository):
    async def create_program(self, **values: Any) -> ProgramRecord:
        row = (
            await self.session.execute(
                insert(ReferralProgram).values(**values).returning(*_PROGRAM_COLUMNS)
            )
        ).one()
        return _program(row)

    async def program(self, program_id: UUID) -> ProgramRecord | None:
        row = (
            await self.session.execute(
                select(*_PROGRAM_COLUMNS).where(ReferralProgram.id == program_id)
            )
        ).one_or_none()
        return None if row is None else _program(row)

    async def programs_of(self, campaign_ids: Sequence[UUID]) -> dict[UUID, ProgramRecord]:
        """The referral programs of these campaigns, by campaign id."""
        if not campaign_ids:
            return {}
        rows = await self.session.execute(
            select(*_PROGRAM_COLUMNS).where(ReferralProgram.campaign_id.in_(list(campaign_ids)))
        )
        return {row.campaign_id: _program(row) for row in rows}

    async def referrer_code(self, campaign_id: UUID, referrer_id: str) -> Any:
        """The referrer's personal code in the campaign (id, code), if made."""
        return (
            await self.session.execute(
                select(CodeRow.id, CodeRow.code, CodeRow.created_at).where(
                    CodeRow.campaign_id == campaign_id, CodeRow.referrer_id == referrer_id
                )
            )
        ).one_or_none()

    async def codes_by_text(
        self, campaign_id: UUID, normalised: Sequence[str]
    ) -> dict[str, tuple[UUID, str]]:
        """The campaign's referrers' codes among these texts: text -> (code id, referrer)."""
        rows = await self.session.execute(
            select(CodeRow.normalised_code, CodeRow.id, CodeRow.referrer_id).where(
                CodeRow.campaign_id == campaign_id,
                CodeRow.normalised_code.in_(list(normalised)),
                CodeRow.referrer_id.is_not(None),
            )
        )
        return {row.normalised_code: (row.id, row.referrer_id) for row in rows}

    async def cursor(self, name: str) -> Position | None:
        """How far the reader `name` has read the feed, its row locked; None when another
        transaction holds it (one reader at once, and the others do not wait)."""
        await self.session.execute(
            pg_insert(FeedCursor)
            .values(name=name, txid=START.txid, event_id=START.id)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = (
            await self.session.execute(
                select(FeedCursor.txid, FeedCursor.event_id)
                .where(FeedCursor.name == name)
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        return None if row is None else Position(row.txid, row.event_id)

    async def move_cursor(self, name: str, position: Position) -> None:
        await self.session.execute(
            update(FeedCursor)
            .where(FeedCursor.name == name)
            .values(txid=position.txid, event_id=position.id)
        )

    async def add(self, **values: Any) -> None:
        """A referral for a redemption (once: a redemption has at most one)."""
        await self.session.execute(
            pg_insert(Referral)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["redemption_id"])
        )

    async def cancel(self, redemption_id: UUID, reason: str, now: datetime) -> int:
        """The redemption's referral, if still pending, is not rewarded (how many: 0 or 1)."""
        result = await self.session.execute(
            update(Referral)
            .where(Referral.redemption_id == redemption_id, Referral.status == "pending")
            .values(status="cancelled", reason=reason, settled_at=now)
            .returning(Referral.id)
        )
        return len(result.all())

    async def due(self, now: datetime, limit: int) -> list[ReferralRecord]:
        """Pending referrals whose window has passed, locked. One settler runs at a time (it
        holds the feed cursor's row); SKIP LOCKED only passes over a referral a rollback is
        cancelling right now, to be read again next round."""
        rows = await self.session.execute(
            select(*_REFERRAL_COLUMNS)
            .where(Referral.status == "pending", Referral.due_at <= now)
            .order_by(Referral.due_at, Referral.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_referral(row) for row in rows]

    async def rewarded_within(
        self, program_id: UUID, referrer_id: str, start: datetime, end: datetime
    ) -> int:
        """The referrer's rewarded referrals that fell due in [start, end)."""
        return int(
            (
                await self.session.execute(
                    select(func.count()).where(
                        Referral.program_id == program_id,
                        Referral.referrer_id == referrer_id,
                        Referral.status == "rewarded",
                        Referral.due_at >= start,
                        Referral.due_at < end,
                    )
                )
            ).scalar_one()
        )

    async def remember_email(self, code_id: UUID, email_key: str) -> None:
        """A referrer's e-mail key, given after their code was made without one."""
        await self.session.execute(
            update(CodeRow)
            .where(CodeRow.id == code_id, CodeRow.referrer_email_key.is_(None))
            .values(referrer_email_key=email_key)
        )

    async def settle(
        self,
        referral_id: UUID,
        status: str,
        now: datetime,
        *,
        reason: str | None = None,
        entry_id: UUID | None = None,
        code_id: UUID | None = None,
    ) -> None:
        await self.session.execute(
            update(Referral)
            .where(Referral.id == referral_id, Referral.status == "pending")
            .values(
                status=status,
                reason=reason,
                settled_at=now,
                reward_entry_id=entry_id,
                reward_code_id=code_id,
            )
        )

    async def of_program(
        self,
        program_id: UUID,
        referrer_id: str | None,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[ReferralRecord]:
        stmt = (
            select(*_REFERRAL_COLUMNS)
            .where(Referral.program_id == program_id)
            .order_by(Referral.created_at.desc(), Referral.id.desc())
            .limit(limit)
        )
        if referrer_id is not None:
            stmt = stmt.where(Referral.referrer_id == referrer_id)
        if before is not None:
            stmt = stmt.where(tuple_(Referral.created_at, Referral.id) < tuple_(*before))
        return [_referral(row) for row in await self.session.execute(stmt)]
