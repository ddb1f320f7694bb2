"""Spending points on a reward: a single-use code bound to the member."""

from datetime import datetime, timedelta
from uuid import UUID

from app.db.repositories.ledger import NewEntry
from app.db.uow import UnitOfWork
from app.domain.campaigns import CodeSource
from app.domain.codegen import parse_spec
from app.domain.ledger import (
    EntryKind,
    available,
    plan_debit,
)
from app.domain.loyalty import (
    ProgramStatus,
)
from app.services.campaigns import insert_bound_code
from app.services.errors import (
    RewardArchived,
    RewardNotFound,
)
from app.services.idempotency import IdempotencyClaim, Written, claim_or_replay
from app.services.loyalty import find_program
from app.services.members import (
    balance_now,
    insufficient_points,
    locked_member,
)
from app.services.rendering import timestamp

_CREATED_STATUS = 201
_REWARD_CODE = parse_spec(length=12)


async def redeem_reward(
    uow: UnitOfWork,
    program_id: UUID,
    customer_id: str,
    reward_id: UUID,
    claim: IdempotencyClaim,
    now: datetime,
) -> Written:
    """Spend the reward's points (soonest to expire first) for a single-use code bound to the
    member, in one transaction under the member's lock: two spends of one balance run one
    after the other, and the second sees what the first left."""
    async with uow:
        stored = await claim_or_replay(uow, claim)
        if stored is not None:
            return Written(stored.body, replayed=True)
        program = await find_program(uow, program_id)
        reward = await uow.loyalty.reward(reward_id)
        if reward is None or reward.program_id != program_id:
            raise RewardNotFound(f"Program {program_id} has no reward {reward_id}.")
        if reward.status is ProgramStatus.ARCHIVED:
            raise RewardArchived(f"Reward {reward_id} is archived.")
        account = await locked_member(uow, program, customer_id, create=False)
        if account is None:
            raise insufficient_points(0, reward.points_cost)
        lots = await uow.ledger.open_lots(account.id)
        points_left = available(lots, now) - account.debt
        if points_left < reward.points_cost:
            raise insufficient_points(points_left, reward.points_cost)
        takes = plan_debit(lots, reward.points_cost, now)
        assert takes is not None, "the lots hold at least the cost"
        await uow.ledger.take(takes)
        code = await insert_bound_code(
            uow,
            _REWARD_CODE,
            campaign_id=reward.campaign_id,
            customer_id=customer_id,
            expires_at=now + timedelta(days=reward.valid_days),
            source=CodeSource.REWARD,
        )
        entry = await uow.ledger.append(
            account.id,
            NewEntry(
                kind=EntryKind.SPEND,
                amount=-reward.points_cost,
                reward_id=reward.id,
                code_id=code.id,
                api_key_id=claim.api_key_id,
            ),
        )
        await uow.ledger.allocate(entry.id, takes)
        balance = await balance_now(uow, program, customer_id, account, now)
        body = {
            "entry_id": str(entry.id),
            "reward_id": str(reward.id),
            "points_spent": reward.points_cost,
            "code": code.code,
            "code_id": str(code.id),
            "campaign_id": str(reward.campaign_id),
            "expires_at": timestamp(code.expires_at),
            "created_at": timestamp(entry.created_at),
            "balance": balance,
        }
        await uow.idempotency.store(claim.api_key_id, claim.key, _CREATED_STATUS, body)
        await uow.commit()
    return Written(body, replayed=False)
