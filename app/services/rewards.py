"""Spending points on a reward: a single-use code bound to the member.

A spend reads once (the key, the Idempotency-Key's stored answer, the program, the reward and
the member's account, summary and open lots: one statement), plans in pure code which lots pay
(soonest to expire first), and writes once: one statement that locks the member's account (as
every writer of a balance does), takes each planned amount with a guarded UPDATE, makes the
code, appends the spend entry and its allocations and stores the answer, or does nothing at all
(db/repositories/checkout_writes.py). If the balance changed between the read and the write
(another spend of the same member got there first) it plans again; past _OPTIMISTIC_ATTEMPTS it
spends in one transaction under the member's lock, so a spend is never refused for contention.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from app.db.errors import DuplicateKeyError
from app.db.repositories.checkout_writes import KEY_TAKEN, Answer, RewardSpendWrite, WriteRefused
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import Scope
from app.domain.campaigns import CodeSource
from app.domain.codegen import generate, parse_spec
from app.domain.codes import normalise
from app.domain.ledger import EntryKind, NewEntry, after_debit, available, plan_debit
from app.domain.loyalty import (
    ProgramStatus,
)
from app.rendering import render
from app.services.api_keys import authenticate, check_access, hash_key
from app.services.campaigns import insert_bound_code
from app.services.errors import (
    ProgramNotFound,
    RewardArchived,
    RewardNotFound,
)
from app.services.idempotency import DONE, IdempotencyClaim, Written, replay, write_once
from app.services.loyalty import find_program
from app.services.members import (
    EXPIRING_WINDOW,
    MemberBalance,
    balance_now,
    balance_of,
    insufficient_points,
    locked_member,
)

_REWARD_CODE = parse_spec(length=12)


# Plans against a balance that changed since its read before the spend takes the lock instead.
_OPTIMISTIC_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class RewardBought:
    """A reward's code, the points it cost and the member's balance after."""

    entry_id: UUID
    reward_id: UUID
    points_spent: int
    code: str
    code_id: UUID
    campaign_id: UUID
    expires_at: datetime
    created_at: datetime
    balance: MemberBalance


@dataclass(frozen=True, slots=True)
class RewardPurchase:
    program_id: UUID
    customer_id: str
    reward_id: UUID
    idempotency_key: str
    request_hash: bytes


async def redeem_reward(
    statements: StatementUnitOfWork,
    uow: UnitOfWork,
    raw_key: str,
    scopes: tuple[Scope, ...],
    purchase: RewardPurchase,
    now: datetime,
) -> Written[RewardBought]:
    """Spend the reward's points (soonest to expire first) for a single-use code bound to the
    member, exactly once per Idempotency-Key, for a caller whose key holds one of scopes. Two
    spends of one balance never both take the same points: each take is guarded, the account
    is locked while it is taken from, and a plan made on a balance that changed is made again."""
    async with statements:
        for _ in range(_OPTIMISTIC_ATTEMPTS):
            written = await _spend_in_statements(statements, raw_key, scopes, purchase, now)
            if written is not None:
                return written
    key = await authenticate(statements, raw_key, *scopes)
    claim = IdempotencyClaim(key.id, purchase.idempotency_key, purchase.request_hash)
    return await _spend_in_transaction(
        uow, purchase.program_id, purchase.customer_id, purchase.reward_id, claim, now
    )


async def _spend_in_statements(
    statements: StatementUnitOfWork,
    raw_key: str,
    scopes: tuple[Scope, ...],
    purchase: RewardPurchase,
    now: datetime,
) -> Written[RewardBought] | None:
    """One read and one write; None, having written nothing, when the balance changed between
    them (or the drawn code text was taken)."""
    found = await statements.checkout.load_reward_spend(
        hash_key(raw_key),
        purchase.idempotency_key,
        purchase.program_id,
        purchase.reward_id,
        purchase.customer_id,
        now,
        EXPIRING_WINDOW,
    )
    key = check_access(found.key, *scopes)
    claim = IdempotencyClaim(key.id, purchase.idempotency_key, purchase.request_hash)
    if found.stored is not None:
        return await replay(claim, found.stored)
    program, reward = found.program, found.reward
    if program is None:
        raise ProgramNotFound(f"No loyalty program has id {purchase.program_id}.")
    if reward is None:
        raise RewardNotFound(f"Program {program.id} has no reward {purchase.reward_id}.")
    if reward.status is ProgramStatus.ARCHIVED:
        raise RewardArchived(f"Reward {reward.id} is archived.")
    if found.account_id is None or found.summary is None:
        raise insufficient_points(0, reward.points_cost)
    points_left = available(found.lots, now) - found.debt
    if points_left < reward.points_cost:
        raise insufficient_points(points_left, reward.points_cost)
    takes = plan_debit(found.lots, reward.points_cost, now)
    assert takes is not None, "the lots hold at least the cost"
    [text] = generate(_REWARD_CODE, 1)
    spend = RewardSpendWrite(
        account_id=found.account_id,
        debt=found.debt,
        takes=takes,
        code_id=uuid4(),
        campaign_id=reward.campaign_id,
        code=text,
        normalised_code=normalise(text),
        customer_id=purchase.customer_id,
        expires_at=now + timedelta(days=reward.valid_days),
        entry_id=uuid4(),
        points=reward.points_cost,
        reward_id=reward.id,
    )
    left = after_debit(found.summary, found.lots, takes, now + EXPIRING_WINDOW)
    bought = RewardBought(
        entry_id=spend.entry_id,
        reward_id=spend.reward_id,
        points_spent=spend.points,
        code=spend.code,
        code_id=spend.code_id,
        campaign_id=spend.campaign_id,
        expires_at=spend.expires_at,
        created_at=now,
        balance=balance_of(program, purchase.customer_id, left, found.debt, now),
    )
    rendered = render(bought)
    answer = Answer(key.id, claim.key, claim.request_hash, DONE, rendered, now)
    try:
        await statements.writes.spend_reward(spend, answer)
    except WriteRefused as refused:
        if refused.reason != KEY_TAKEN:
            return None
        stored = await statements.checkout.stored_answer(key.id, claim.key, now)
        assert stored is not None, "a taken key has its answer once its statement is done"
        return await replay(claim, stored)
    except DuplicateKeyError:
        return None
    return Written(bought, rendered=rendered)


async def _spend_in_transaction(
    uow: UnitOfWork,
    program_id: UUID,
    customer_id: str,
    reward_id: UUID,
    claim: IdempotencyClaim,
    now: datetime,
) -> Written[RewardBought]:
    """The spend as one transaction under the member's lock: two spends of one balance run one
    after the other, and the second sees what the first left."""

    async def spend() -> RewardBought:
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
        code = await insert_bound_code(
            uow,
            _REWARD_CODE,
            campaign_id=reward.campaign_id,
            customer_id=customer_id,
            expires_at=now + timedelta(days=reward.valid_days),
            source=CodeSource.REWARD,
        )
        entry = await uow.ledger.debit(
            account.id,
            NewEntry(
                kind=EntryKind.SPEND,
                amount=-reward.points_cost,
                reward_id=reward.id,
                code_id=code.id,
                api_key_id=claim.api_key_id,
            ),
            takes,
        )
        assert code.expires_at is not None, "a reward code expires"
        return RewardBought(
            entry_id=entry.id,
            reward_id=reward.id,
            points_spent=reward.points_cost,
            code=code.code,
            code_id=code.id,
            campaign_id=reward.campaign_id,
            expires_at=code.expires_at,
            created_at=entry.created_at,
            balance=await balance_now(uow, program, customer_id, account, now),
        )

    return await write_once(uow, claim, spend)
