from dataclasses import replace
from uuid import UUID

from fastapi import APIRouter, Response, status

from app.api.deps import AdminKey, NowDep, ReplicaUowDep, SupportKey, UowDep
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.schemas.campaigns import (
    REQUIRED_WHEN_SENT,
    Campaign,
    CampaignCreate,
    CampaignList,
    CampaignUpdate,
    Code,
    CodeCreate,
    CodeList,
    CodeLookup,
    CodeUpdate,
    periods_to_domain,
    stacking_to_domain,
)
from app.api.schemas.rules import effect_to_domain, rules_to_domain
from app.domain.benefits import CalculationBase
from app.domain.campaigns import CampaignKind, CampaignStatus, Trigger
from app.domain.money import Rounding
from app.services import campaigns as service
from app.services.campaigns import CampaignTerms, CodeChanges, CodeTerms
from app.services.errors import InvalidParameter

router = APIRouter(tags=["campaigns"])

_WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)


@router.post(
    "/v1/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model=Campaign,
    summary="Create a campaign (active at once, within its start and end times)",
    responses=_WRITE_PROBLEMS,
)
async def create_campaign(body: CampaignCreate, uow: UowDep, key: AdminKey) -> Campaign:
    rules = rules_to_domain(body.effects, body.target, body.conditions)
    terms = CampaignTerms(
        name=body.name,
        rules=replace(
            rules,
            periods=periods_to_domain(body.period_limits, body.time_zone),
            rounding=Rounding(body.rounding),
            base=CalculationBase(body.calculation_base),
        ),
        trigger=body.trigger,
        stacking=stacking_to_domain(body.stacking),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        per_customer_limit=body.per_customer_limit,
        metadata=body.metadata,
        budget=body.budget.to_domain(),
        honour_holds=body.honour_holds,
        advertised=body.advertised,
    )
    return Campaign.of(await service.create_campaign(uow, terms, actor=key.id))


@router.get(
    "/v1/campaigns",
    response_model=CampaignList,
    summary="List campaigns, oldest first",
    description=(
        "Every filter given must hold: `kind=standard` leaves out the one-code campaigns "
        "support agents and loyalty rewards make."
    ),
    responses=problem_responses(401, 403, 422),
)
async def list_campaigns(
    uow: ReplicaUowDep,
    _: AdminKey,
    status: CampaignStatus | None = None,
    trigger: Trigger | None = None,
    kind: CampaignKind | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> CampaignList:
    page = await service.list_campaigns(
        uow,
        limit=limit,
        after=decode_cursor(cursor),
        where=service.CampaignFilter(status, trigger, kind),
    )
    last = page[-1] if len(page) == limit else None
    return CampaignList(
        data=[Campaign.of(c) for c in page],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.get(
    "/v1/campaigns/{campaign_id}",
    response_model=Campaign,
    summary="Get a campaign",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_campaign(campaign_id: UUID, uow: UowDep, _: AdminKey) -> Campaign:
    return Campaign.of(await service.get_campaign(uow, campaign_id))


@router.patch(
    "/v1/campaigns/{campaign_id}",
    response_model=Campaign,
    summary="Change a campaign's terms (only the fields sent; null clears an optional one)",
    responses=_WRITE_PROBLEMS,
)
async def update_campaign(
    campaign_id: UUID, body: CampaignUpdate, uow: UowDep, key: AdminKey
) -> Campaign:
    changes: dict[str, object] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name in REQUIRED_WHEN_SENT:
            raise InvalidParameter(f"'{name}' cannot be null.", fields=[name])
        if name == "effects":
            changes["effects"] = tuple(effect_to_domain(effect) for effect in body.effects or ())
        elif name in {"target", "conditions", "budget"}:
            changes[name] = value.to_domain()
        elif name == "stacking":
            changes["stacking"] = stacking_to_domain(value)
        elif name == "metadata":
            changes["metadata"] = value if value is not None else {}
        elif name == "period_limits":
            changes["period_limits"] = periods_to_domain(value, "UTC").limits
        elif name == "rounding":
            changes["rounding"] = Rounding(value)
        elif name == "calculation_base":
            changes["calculation_base"] = CalculationBase(value)
        else:
            changes[name] = value
    return Campaign.of(await service.update_campaign(uow, campaign_id, changes, actor=key.id))


@router.post(
    "/v1/campaigns/{campaign_id}/pause",
    response_model=Campaign,
    summary="Pause: the campaign's codes are refused from now on (kill switch)",
    responses=problem_responses(401, 403, 404, 422),
)
async def pause_campaign(campaign_id: UUID, uow: UowDep, key: AdminKey) -> Campaign:
    paused = CampaignStatus.PAUSED
    return Campaign.of(await service.set_campaign_status(uow, campaign_id, paused, actor=key.id))


@router.post(
    "/v1/campaigns/{campaign_id}/resume",
    response_model=Campaign,
    summary="Resume a paused campaign",
    responses=problem_responses(401, 403, 404, 422),
)
async def resume_campaign(campaign_id: UUID, uow: UowDep, key: AdminKey) -> Campaign:
    active = CampaignStatus.ACTIVE
    return Campaign.of(await service.set_campaign_status(uow, campaign_id, active, actor=key.id))


@router.post(
    "/v1/campaigns/{campaign_id}/codes",
    status_code=status.HTTP_201_CREATED,
    response_model=Code,
    summary="Create a named code (e.g. SUMMER10) in a campaign",
    responses=_WRITE_PROBLEMS,
)
async def create_code(campaign_id: UUID, body: CodeCreate, uow: UowDep, key: AdminKey) -> Code:
    terms = CodeTerms(
        code=body.code,
        max_redemptions=body.max_redemptions,
        per_customer_limit=body.per_customer_limit,
        customer_id=body.customer_id,
        expires_at=body.expires_at,
    )
    return Code.of(await service.create_code(uow, campaign_id, terms, actor=key.id))


@router.get(
    "/v1/campaigns/{campaign_id}/codes",
    response_model=CodeList,
    summary="List a campaign's codes, oldest first",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_codes(
    campaign_id: UUID,
    uow: ReplicaUowDep,
    _: AdminKey,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> CodeList:
    page = await service.list_codes(uow, campaign_id, limit=limit, after=decode_cursor(cursor))
    last = page[-1] if len(page) == limit else None
    return CodeList(
        data=[Code.of(c) for c in page],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.get(
    "/v1/codes/{code_id}",
    response_model=Code,
    summary="Get a code with its usage count",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_code(code_id: UUID, uow: UowDep, _: SupportKey) -> Code:
    return Code.of(await service.get_code(uow, code_id))


@router.post(
    "/v1/codes/lookup",
    response_model=Code,
    summary="Find a code by its text (support and admin keys)",
    description=(
        "The text travels in the body, never in a URL (URLs end up in logs). Case does not "
        "matter. Support and admin keys only: checkouts ask `/v1/validate`."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422),
)
async def look_up_code(body: CodeLookup, uow: UowDep, _: SupportKey) -> Code:
    return Code.of(await service.find_code(uow, body.code))


@router.patch(
    "/v1/codes/{code_id}",
    response_model=Code,
    summary="Change one code's limit, per-customer limit, customer or expiry",
    description=(
        "Only the fields sent change; null clears one. Its campaign is left as it is. The "
        "limit cannot go below the uses already taken (422 `invalid_code_terms`); a redeem "
        "racing "
        "the change is held by either the old limit or the new one, never neither. Audited."
    ),
    responses=_WRITE_PROBLEMS,
)
async def update_code(code_id: UUID, body: CodeUpdate, uow: UowDep, key: AdminKey) -> Code:
    fields = body.model_dump(include=body.model_fields_set)
    changes = CodeChanges(sent=frozenset(body.model_fields_set), **fields)
    return Code.of(await service.update_code(uow, code_id, changes, actor=key.id))


@router.post(
    "/v1/codes/{code_id}/disable",
    response_model=Code,
    summary="Switch one code off, leaving its campaign running",
    description=(
        "From the moment this returns, validate and redeem refuse the code with the reason "
        "`disabled` and pool claims skip it; a redeem already past its consuming statement may "
        "still complete. Switching off a disabled code keeps its first `disabled_at`. Audited."
    ),
    responses=problem_responses(401, 403, 404, 422),
)
async def disable_code(code_id: UUID, uow: UowDep, key: SupportKey, now: NowDep) -> Code:
    return Code.of(await service.set_code_disabled(uow, code_id, True, now, actor=key.id))


@router.post(
    "/v1/codes/{code_id}/enable",
    response_model=Code,
    summary="Switch a disabled code on again",
    description="Its limits and uses are as they were. Audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def enable_code(code_id: UUID, uow: UowDep, key: SupportKey, now: NowDep) -> Code:
    return Code.of(await service.set_code_disabled(uow, code_id, False, now, actor=key.id))


@router.delete(
    "/v1/codes/{code_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a code that was never used",
    description=(
        "Only while nothing was ever recorded against the code: no redemption (not even one "
        "rolled back since) and no points spent on it. Otherwise 409 `code_in_use`: the "
        "history keeps the code; disable it instead. A pool code a claim handed out but "
        "never redeemed can be deleted (the customer's next claim gets another). Audited."
    ),
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def delete_code(code_id: UUID, uow: UowDep, key: AdminKey) -> Response:
    await service.delete_code(uow, code_id, actor=key.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
