from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.api.deps import AdminKey, CheckoutKey, CheckoutOrSupportKey, ReplicaUowDep, UowDep
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse
from app.api.schemas.common import PATH_ID
from app.api.schemas.referrals import (
    CodeReward,
    PointsReward,
    ReferralList,
    ReferralProgram,
    ReferralProgramCreate,
    ReferrerCode,
    ReferrerCreate,
)
from app.api.schemas.rules import rules_to_domain
from app.services import referrals as service

router = APIRouter(tags=["referrals"])


def _view(program: service.Program) -> dict[str, object]:
    advocate = program.advocate
    return {
        "id": program.id,
        "campaign_id": program.campaign_id,
        "advocate_reward": {
            "points": advocate.points,
            "program_id": advocate.program_id,
            "amount": advocate.amount,
            "currency": advocate.currency,
            "campaign_id": advocate.campaign_id,
            "expires_in_days": advocate.code_days,
        },
        "window_days": program.window_days,
        "max_rewards": (
            None
            if program.max_rewards is None
            else {"limit": program.max_rewards, "period": program.max_rewards_period}
        ),
        "created_at": program.created_at,
    }


@router.post(
    "/v1/referral-programs",
    status_code=201,
    response_model=ReferralProgram,
    summary="Create a referral program",
    description=(
        "Its campaign (kind `referral`) gives the friend reward through each referrer's "
        "personal code, to customers only, once each, never to the referrer (by customer id, "
        "or by e-mail when the checkout sends `customer.email`: `self_referral`). Once a "
        "friend's order has stood for `window_days` (not rolled back or wholly returned), "
        "the worker (`make worker`) gives the referrer `advocate_reward`, once, within "
        "`max_rewards` per period."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
async def create_referral_program(
    body: ReferralProgramCreate, uow: UowDep, key: AdminKey
) -> OrjsonResponse:
    reward = body.advocate_reward
    if isinstance(reward, PointsReward):
        advocate = service.AdvocateReward(points=reward.points, program_id=reward.program_id)
    elif isinstance(reward, CodeReward):
        advocate = service.AdvocateReward(
            campaign_id=reward.campaign_id, code_days=reward.expires_in_days
        )
    else:
        advocate = service.AdvocateReward(amount=reward.amount, currency=reward.currency)
    terms = service.ProgramTerms(
        name=body.name,
        rules=rules_to_domain(body.effects, body.target, body.conditions),
        advocate=advocate,
        window_days=body.window_days,
        max_rewards=body.max_rewards.limit if body.max_rewards else None,
        max_rewards_period=body.max_rewards.period if body.max_rewards else None,
    )
    program = await service.create_program(uow, terms, key.id)
    return OrjsonResponse(_view(program), status_code=201)


@router.get(
    "/v1/referral-programs/{program_id}",
    response_model=ReferralProgram,
    summary="Get a referral program",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_referral_program(
    program_id: UUID, uow: UowDep, _: CheckoutOrSupportKey
) -> OrjsonResponse:
    return OrjsonResponse(_view(await service.get_program(uow, program_id)))


@router.post(
    "/v1/referral-programs/{program_id}/referrers",
    status_code=201,
    response_model=ReferrerCode,
    summary="A customer's personal referral code (made on the first request)",
    description="The same customer gets the same code every time (200 after the first, 201).",
    responses={
        **problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
        200: {"model": ReferrerCode, "description": "The code made before"},
    },
)
async def referrer_code(
    program_id: UUID, body: ReferrerCreate, uow: UowDep, _: CheckoutKey
) -> OrjsonResponse:
    code, made = await service.referrer_code(uow, program_id, body.customer_id, body.email)
    return OrjsonResponse(code, status_code=201 if made else 200)


@router.get(
    "/v1/referral-programs/{program_id}/referrals",
    response_model=ReferralList,
    summary="A program's referrals, newest first (of one referrer, or all), a page at a time",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_referrals(
    program_id: UUID,
    uow: ReplicaUowDep,
    _: CheckoutOrSupportKey,
    referrer_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=PATH_ID)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> OrjsonResponse:
    found = await service.referrals(uow, program_id, referrer_id, limit, decode_cursor(cursor))
    last = found[-1] if len(found) == limit else None
    next_cursor = encode_cursor(last.created_at, last.id) if last else None
    return OrjsonResponse({"data": found, "next_cursor": next_cursor})
