"""Loyalty programs and their rewards: the terms members earn by and the rewards they can buy
with points. Members' balances, earning and adjustments are in services/members.py, spending on
rewards in services/rewards.py, expiry in services/expiry.py.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from app.db.uow import UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.benefits import AmountOff
from app.domain.campaigns import CampaignKind, Trigger
from app.domain.conditions import Conditions, Target
from app.domain.loyalty import (
    Program,
    ProgramStatus,
    Reward,
    tiers_problem,
)
from app.domain.rules import Rules, Stacking
from app.services.errors import (
    InvalidProgram,
    ProgramNotFound,
    RewardNotFound,
)


async def find_program(uow: UnitOfWork, program_id: UUID, *, for_update: bool = False) -> Program:
    program = await uow.loyalty.program(program_id, for_update=for_update)
    if program is None:
        raise ProgramNotFound(f"No loyalty program has id {program_id}.")
    return program


# -- programs and rewards


def _check_program(program: Program) -> None:
    problem = tiers_problem(program.tiers)
    if problem is not None:
        raise InvalidProgram(problem, fields=["tiers"])


async def create_program(uow: UnitOfWork, actor: UUID | None, program: Program) -> Program:
    _check_program(program)
    async with uow:
        stored = await uow.loyalty.insert_program(program)
        await uow.audit.record(
            AuditEntry(
                action=Action.LOYALTY_PROGRAM_CREATED,
                api_key_id=actor,
                subject_id=stored.id,
                details={"name": stored.name, "currency": stored.currency},
            )
        )
        await uow.commit()
    return stored


async def update_program(
    uow: UnitOfWork, actor: UUID | None, program_id: UUID, changes: dict[str, Any]
) -> Program:
    """Change a program's terms; they apply to what is earned from now on (existing lots keep
    their availability and expiry). The currency cannot change."""
    async with uow:
        current = await find_program(uow, program_id, for_update=True)
        changed = replace(current, **changes)
        _check_program(changed)
        stored = await uow.loyalty.update_program(changed)
        await uow.audit.record(
            AuditEntry(
                action=Action.LOYALTY_PROGRAM_UPDATED,
                api_key_id=actor,
                subject_id=program_id,
                details={"changed": sorted(changes)},
            )
        )
        await uow.commit()
    return stored


async def get_program(uow: UnitOfWork, program_id: UUID) -> Program:
    async with uow:
        return await find_program(uow, program_id)


async def list_programs(
    uow: UnitOfWork, limit: int, after: tuple[datetime, UUID] | None
) -> list[Program]:
    async with uow:
        return await uow.loyalty.programs(limit, after)


async def create_reward(
    uow: UnitOfWork,
    actor: UUID | None,
    program_id: UUID,
    *,
    name: str,
    points_cost: int,
    amount: int,
    min_subtotal: int | None,
    valid_days: int,
) -> Reward:
    """A reward and the campaign (kind 'reward') whose codes it hands out: amount off an order
    of at least min_subtotal, in the program's currency."""
    async with uow:
        program = await find_program(uow, program_id)
        conditions = Conditions(
            min_subtotal_amounts={program.currency: min_subtotal} if min_subtotal else {}
        )
        campaign = await uow.campaigns.insert(
            name=f"Reward: {name}"[:200],
            trigger=Trigger.CODE,
            kind=CampaignKind.REWARD,
            rules=Rules(
                effects=(AmountOff(amounts={program.currency: amount}),),
                target=Target(),
                conditions=conditions,
            ),
            stacking=Stacking(),
            starts_at=None,
            ends_at=None,
            per_customer_limit=None,
            metadata={"loyalty_program_id": str(program_id)},
        )
        reward = await uow.loyalty.insert_reward(
            program_id=program_id,
            campaign_id=campaign.id,
            name=name,
            points_cost=points_cost,
            amount=amount,
            min_subtotal=min_subtotal,
            valid_days=valid_days,
        )
        await uow.audit.record(
            AuditEntry(
                action=Action.LOYALTY_REWARD_CREATED,
                api_key_id=actor,
                campaign_id=campaign.id,
                subject_id=reward.id,
                details={"program_id": str(program_id), "points_cost": points_cost},
            )
        )
        await uow.commit()
    return reward


async def set_reward_status(
    uow: UnitOfWork, actor: UUID | None, program_id: UUID, reward_id: UUID, status: ProgramStatus
) -> Reward:
    """Archive a reward (it can no longer be bought; codes already bought keep working) or
    offer it again."""
    async with uow:
        found = await uow.loyalty.reward(reward_id)
        if found is None or found.program_id != program_id:
            raise RewardNotFound(f"Program {program_id} has no reward {reward_id}.")
        reward = await uow.loyalty.set_reward_status(reward_id, status)
        assert reward is not None, "just found"
        await uow.audit.record(
            AuditEntry(
                action=Action.LOYALTY_REWARD_UPDATED,
                api_key_id=actor,
                campaign_id=reward.campaign_id,
                subject_id=reward.id,
                details={"status": status.value},
            )
        )
        await uow.commit()
    return reward


async def list_rewards(uow: UnitOfWork, program_id: UUID) -> list[Reward]:
    async with uow:
        await find_program(uow, program_id)
        return await uow.loyalty.rewards(program_id)
