from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Request, status
from starlette.responses import Response

from app.api.deps import (
    AdminKey,
    CheckoutKey,
    CheckoutOrSupportKey,
    DeferredCheckoutOrSupportKey,
    IdempotencyKeyDep,
    NowDep,
    ReplicaStatementsDep,
    ReplicaUowDep,
    StatementsDep,
    SupportKey,
    UowDep,
    idempotency_claim,
    request_fingerprint,
)
from app.api.fast_routes import (
    FastRoute,
    checkout_call,
    idempotency_key_of,
    json_body,
    now_of,
    path_params_of,
    served_by,
)
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.params import CustomerPath, OrderPath
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse, written
from app.api.schemas.loyalty import (
    Adjustment,
    AdjustmentCreate,
    EarnCreate,
    Earned,
    ExpiryNoticeRun,
    ExpiryNoticeRunCreate,
    ExpiryRun,
    LedgerEntry,
    LedgerEntryList,
    MemberBalance,
    Program,
    ProgramCreate,
    ProgramList,
    ProgramUpdate,
    Reward,
    RewardCreate,
    RewardList,
    RewardRedemption,
    RewardRedemptionCreate,
    RewardUpdate,
)
from app.domain.api_keys import Scope
from app.services import expiry, loyalty, members, rewards

router = APIRouter(tags=["loyalty"], route_class=FastRoute)
_SPENDERS = (Scope.CHECKOUT, Scope.SUPPORT)

_MEMBER = "/v1/loyalty/programs/{program_id}/members/{customer_id}"


@router.post(
    "/v1/loyalty/programs",
    status_code=status.HTTP_201_CREATED,
    response_model=Program,
    summary="Create a loyalty program",
    description=(
        "Earn rate, tiers (by lifetime points or the last 12 months) with multipliers, expiry "
        "and the pending period. A tier ladder must start at 0 and rise "
        "(`invalid_program` otherwise)."
    ),
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def create_program(body: ProgramCreate, uow: UowDep, key: AdminKey, now: NowDep) -> Program:
    return Program.of(await loyalty.create_program(uow, key.id, body.to_domain(now)))


@router.get(
    "/v1/loyalty/programs",
    response_model=ProgramList,
    summary="List loyalty programs, oldest first",
    responses=problem_responses(401, 403, 422),
)
async def list_programs(
    uow: ReplicaUowDep, _: AdminKey, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> ProgramList:
    programs = await loyalty.list_programs(uow, limit, decode_cursor(cursor))
    last = programs[-1] if len(programs) == limit else None
    return ProgramList(
        data=[Program.of(p) for p in programs],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.get(
    "/v1/loyalty/programs/{program_id}",
    response_model=Program,
    summary="Get a loyalty program",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_program(program_id: UUID, uow: UowDep, _: CheckoutOrSupportKey) -> Program:
    return Program.of(await loyalty.get_program(uow, program_id))


@router.patch(
    "/v1/loyalty/programs/{program_id}",
    response_model=Program,
    summary="Change a program's terms, or archive it",
    description=(
        "New terms apply to what is earned from now on; points already earned keep their "
        "availability and expiry. Archived programs earn nothing more."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def update_program(
    program_id: UUID, body: ProgramUpdate, uow: UowDep, key: AdminKey
) -> Program:
    return Program.of(await loyalty.update_program(uow, key.id, program_id, body.changes()))


@router.post(
    "/v1/loyalty/programs/{program_id}/rewards",
    status_code=status.HTTP_201_CREATED,
    response_model=Reward,
    summary="Offer a reward: points for a code worth an amount off",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def create_reward(program_id: UUID, body: RewardCreate, uow: UowDep, key: AdminKey) -> Reward:
    reward = await loyalty.create_reward(
        uow,
        key.id,
        program_id,
        name=body.name,
        points_cost=body.points_cost,
        amount=body.amount_off,
        min_subtotal=body.min_subtotal,
        valid_days=body.valid_days,
    )
    return Reward.of(reward)


@router.patch(
    "/v1/loyalty/programs/{program_id}/rewards/{reward_id}",
    response_model=Reward,
    summary="Archive a reward, or offer it again",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def update_reward(
    program_id: UUID, reward_id: UUID, body: RewardUpdate, uow: UowDep, key: AdminKey
) -> Reward:
    reward = await loyalty.set_reward_status(uow, key.id, program_id, reward_id, body.status)
    return Reward.of(reward)


@router.get(
    "/v1/loyalty/programs/{program_id}/rewards",
    response_model=RewardList,
    summary="The program's rewards, cheapest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_rewards(program_id: UUID, uow: ReplicaUowDep, _: CheckoutOrSupportKey) -> RewardList:
    return RewardList(data=[Reward.of(r) for r in await loyalty.list_rewards(uow, program_id)])


@router.get(
    _MEMBER,
    response_model=MemberBalance,
    summary="A member's points, tier and distance to the next tier",
    description="A customer who never earned has an empty balance in the first tier.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def member_balance(
    program_id: UUID,
    customer_id: CustomerPath,
    reads: ReplicaStatementsDep,
    _: CheckoutOrSupportKey,
    now: NowDep,
) -> OrjsonResponse:
    return OrjsonResponse(await members.member_balance(reads, program_id, customer_id, now))


@router.get(
    f"{_MEMBER}/entries",
    response_model=LedgerEntryList,
    summary="A member's ledger, newest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def member_history(
    program_id: UUID,
    customer_id: CustomerPath,
    uow: ReplicaUowDep,
    _: CheckoutOrSupportKey,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> LedgerEntryList:
    entries = await members.member_history(
        uow, program_id, customer_id, limit, decode_cursor(cursor)
    )
    last = entries[-1] if len(entries) == limit else None
    return LedgerEntryList(
        data=[LedgerEntry.of(e) for e in entries],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.post(
    "/v1/loyalty/programs/{program_id}/earnings",
    status_code=status.HTTP_201_CREATED,
    response_model=Earned,
    summary="Points for a paid order (once per order)",
    description=(
        "The program's rate times the member's tier multiplier, rounded down, pending for the "
        "program's `pending_days`. The same `order_id` again returns the first answer (200, "
        "`Idempotent-Replayed: true`); with another amount it is a 409 `order_already_earned`. "
        "Rolling back the order's redemption (or POSTing its reversal) takes the points back."
    ),
    responses={
        200: {"model": Earned, "description": "The order had earned already: the first answer"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
    },
)
async def earn(
    program_id: UUID, body: EarnCreate, uow: UowDep, key: CheckoutKey, now: NowDep
) -> OrjsonResponse:
    earned = await members.earn(
        uow,
        program_id,
        customer_id=body.customer_id,
        order_id=body.order_id,
        amount=body.amount,
        currency=body.currency,
        api_key_id=key.id,
        now=now,
    )
    return written(earned, status_code=200 if earned.replayed else 201)


@router.post(
    "/v1/loyalty/programs/{program_id}/orders/{order_id}/reversal",
    response_model=LedgerEntryList,
    summary="Take back the points an order earned (a return)",
    description=(
        "For an order returned without a redemption to roll back. Taken from the order's own "
        "points first, then other pending, then available ones; what is missing becomes debt "
        "if the program allows a negative balance and is forgiven otherwise (see `details`). "
        "Once: again, it returns an empty list."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def reverse_order(
    program_id: UUID, order_id: OrderPath, uow: UowDep, key: CheckoutKey, now: NowDep
) -> LedgerEntryList:
    entries = await members.reverse_order(uow, program_id, order_id, key.id, now)
    return LedgerEntryList(data=[LedgerEntry.of(e) for e in entries], next_cursor=None)


async def _redeem_reward(request: Request) -> Response:
    """redeem_reward, served without FastAPI's dependency resolution (api/fast_routes.py)."""
    call = await checkout_call(request, _SPENDERS)
    path = path_params_of(request)
    key = idempotency_key_of(request)
    body = await json_body(request, RewardRedemptionCreate)
    purchase = rewards.RewardPurchase(
        program_id=path["program_id"],
        customer_id=path["customer_id"],
        reward_id=body.reward_id,
        idempotency_key=key,
        request_hash=request_fingerprint(request, body.model_dump(mode="json")),
    )
    bought = await rewards.redeem_reward(
        call.statements, call.new_uow(), call.token, _SPENDERS, purchase, await now_of(request)
    )
    return written(bought)


@router.post(
    f"{_MEMBER}/reward-redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=RewardRedemption,
    summary="Spend points on a reward: a single-use code bound to the member",
    description=(
        "Atomic: the points (soonest to expire first) and the code in one write that locks "
        "the member's balance, so a balance is never spent twice. 409 `insufficient_points` when "
        "the available points do not cover it. Requires an `Idempotency-Key`."
    ),
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
@served_by(_redeem_reward)
async def redeem_reward(
    request: Request,
    program_id: UUID,
    customer_id: CustomerPath,
    body: RewardRedemptionCreate,
    statements: StatementsDep,
    uow: UowDep,
    token: DeferredCheckoutOrSupportKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> OrjsonResponse:
    """The declaration FastAPI describes the route from; _redeem_reward serves it."""
    raise AssertionError("served by _redeem_reward")


@router.post(
    f"{_MEMBER}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=Adjustment,
    summary="Support: add or remove points, with a reason (audited)",
    description=(
        "Added points are available at once and expire like earned ones; they do not count "
        "towards tiers. Removing more than is available is a 409 `insufficient_points` unless "
        "the program allows a negative balance. Requires an `Idempotency-Key`."
    ),
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def adjust(
    request: Request,
    program_id: UUID,
    customer_id: CustomerPath,
    body: AdjustmentCreate,
    uow: UowDep,
    key: SupportKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> OrjsonResponse:
    claim = idempotency_claim(request, key.id, idempotency_key, body.model_dump(mode="json"))
    adjusted = await members.adjust(
        uow,
        program_id,
        customer_id,
        points=body.points,
        reason=body.reason.strip(),
        claim=claim,
        now=now,
    )
    return written(adjusted)


@router.post(
    "/v1/expiry-runs",
    response_model=ExpiryRun,
    summary="Expire what is past its expiry (points, gift-card lots) now; the worker does it",
    description=(
        "Writes an `expire` entry per balance for the lots past their expiry. Safe to run "
        "twice or at once: a second run finds nothing left. Balances never count expired "
        "lots, so running it late changes the ledger, not what can be spent."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def run_expiry(uow: UowDep, _: AdminKey, now: NowDep) -> ExpiryRun:
    run = await expiry.expire(uow, now)
    return ExpiryRun(accounts=run.accounts, lots=run.lots, amount=run.amount)


@router.post(
    "/v1/expiry-notice-runs",
    response_model=ExpiryNoticeRun,
    summary="Announce points about to expire (points.expiring events): for a scheduler",
    description=(
        "One `points.expiring` event per member whose points expire within `within_days` "
        '(how many, first and last expiry), for the e-mail that says "your points expire '
        'next week". Each lot is announced once, by whichever run sees it first: run it daily, '
        "twice or at once alike."
    ),
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def run_expiry_notices(
    body: ExpiryNoticeRunCreate, uow: UowDep, _: AdminKey, now: NowDep
) -> ExpiryNoticeRun:
    run = await expiry.announce_expiring(uow, now, timedelta(days=body.within_days))
    return ExpiryNoticeRun(members=run.members, points=run.points)
