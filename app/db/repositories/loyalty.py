from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, tuple_, update

from app.db.models import LoyaltyProgram as ProgramRow
from app.db.models import LoyaltyReward as RewardRow
from app.db.repositories.base import Repository
from app.domain.loyalty import EarnRate, Program, ProgramStatus, Reward, Tier, TierBasis

_PROGRAM_COLUMNS = (
    ProgramRow.id,
    ProgramRow.name,
    ProgramRow.currency,
    ProgramRow.earn_points,
    ProgramRow.earn_per_amount,
    ProgramRow.tier_basis,
    ProgramRow.tiers,
    ProgramRow.expiry_days,
    ProgramRow.pending_days,
    ProgramRow.allow_negative_balance,
    ProgramRow.status,
    ProgramRow.created_at,
    ProgramRow.updated_at,
)
_REWARD_COLUMNS = (
    RewardRow.id,
    RewardRow.program_id,
    RewardRow.campaign_id,
    RewardRow.name,
    RewardRow.points_cost,
    RewardRow.amount,
    RewardRow.min_subtotal,
    RewardRow.valid_days,
    RewardRow.status,
    RewardRow.created_at,
)


# The columns program_from_row reads, for statements written as SQL text.
PROGRAM_COLUMN_NAMES = tuple(column.key for column in _PROGRAM_COLUMNS)
REWARD_COLUMN_NAMES = tuple(column.key for column in _REWARD_COLUMNS)


def _tiers_json(tiers: tuple[Tier, ...]) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "label": t.label,
            "threshold": t.threshold,
            "multiplier_percent": t.multiplier_percent,
        }
        for t in tiers
    ]


def program_from_row(row: Any) -> Program:
    return Program(
        id=row.id,
        name=row.name,
        currency=row.currency,
        earn_rate=EarnRate(points=row.earn_points, per_amount=row.earn_per_amount),
        tier_basis=TierBasis(row.tier_basis),
        tiers=tuple(
            Tier(
                key=t["key"],
                label=t["label"],
                threshold=t["threshold"],
                multiplier_percent=t["multiplier_percent"],
            )
            for t in row.tiers
        ),
        expiry_days=row.expiry_days,
        pending_days=row.pending_days,
        allow_negative_balance=row.allow_negative_balance,
        status=ProgramStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def reward_from_row(row: Any) -> Reward:
    return Reward(
        id=row.id,
        program_id=row.program_id,
        campaign_id=row.campaign_id,
        name=row.name,
        points_cost=row.points_cost,
        amount=row.amount,
        min_subtotal=row.min_subtotal,
        valid_days=row.valid_days,
        status=ProgramStatus(row.status),
        created_at=row.created_at,
    )


def _program_values(program: Program) -> dict[str, Any]:
    return {
        "name": program.name,
        "currency": program.currency,
        "earn_points": program.earn_rate.points,
        "earn_per_amount": program.earn_rate.per_amount,
        "tier_basis": program.tier_basis.value,
        "tiers": _tiers_json(program.tiers),
        "expiry_days": program.expiry_days,
        "pending_days": program.pending_days,
        "allow_negative_balance": program.allow_negative_balance,
        "status": program.status.value,
    }


class LoyaltyRepository(Repository):
    async def insert_program(self, program: Program) -> Program:
        """Store a new program (its id and times are the database's)."""
        stmt = insert(ProgramRow).values(_program_values(program)).returning(*_PROGRAM_COLUMNS)
        return program_from_row((await self.session.execute(stmt)).one())

    async def update_program(self, program: Program) -> Program:
        stmt = (
            update(ProgramRow)
            .where(ProgramRow.id == program.id)
            .values(_program_values(program) | {"updated_at": func.now()})
            .returning(*_PROGRAM_COLUMNS)
        )
        return program_from_row((await self.session.execute(stmt)).one())

    async def program(self, program_id: UUID, *, for_update: bool = False) -> Program | None:
        stmt = select(*_PROGRAM_COLUMNS).where(ProgramRow.id == program_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else program_from_row(row)

    async def programs(self, limit: int, after: tuple[datetime, UUID] | None) -> list[Program]:
        """Oldest first."""
        stmt = select(*_PROGRAM_COLUMNS).order_by(ProgramRow.created_at, ProgramRow.id).limit(limit)
        if after is not None:
            stmt = stmt.where(tuple_(ProgramRow.created_at, ProgramRow.id) > tuple_(*after))
        return [program_from_row(row) for row in await self.session.execute(stmt)]

    async def insert_reward(
        self,
        *,
        program_id: UUID,
        campaign_id: UUID,
        name: str,
        points_cost: int,
        amount: int,
        min_subtotal: int | None,
        valid_days: int,
    ) -> Reward:
        stmt = (
            insert(RewardRow)
            .values(
                program_id=program_id,
                campaign_id=campaign_id,
                name=name,
                points_cost=points_cost,
                amount=amount,
                min_subtotal=min_subtotal,
                valid_days=valid_days,
            )
            .returning(*_REWARD_COLUMNS)
        )
        return reward_from_row((await self.session.execute(stmt)).one())

    async def reward(self, reward_id: UUID) -> Reward | None:
        row = (
            await self.session.execute(select(*_REWARD_COLUMNS).where(RewardRow.id == reward_id))
        ).one_or_none()
        return None if row is None else reward_from_row(row)

    async def set_reward_status(self, reward_id: UUID, status: ProgramStatus) -> Reward | None:
        stmt = (
            update(RewardRow)
            .where(RewardRow.id == reward_id)
            .values(status=status.value)
            .returning(*_REWARD_COLUMNS)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else reward_from_row(row)

    async def rewards(self, program_id: UUID) -> list[Reward]:
        stmt = (
            select(*_REWARD_COLUMNS)
            .where(RewardRow.program_id == program_id)
            .order_by(RewardRow.points_cost, RewardRow.created_at, RewardRow.id)
        )
        return [reward_from_row(row) for row in await self.session.execute(stmt)]
