from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from app.api.deps import (
    AdminKey,
    CheckoutOrSupportKey,
    IdempotencyKeyDep,
    NowDep,
    ReplicaUowDep,
    SupportKey,
    UowDep,
    idempotency_claim,
)
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.params import CustomerPath
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse, written
from app.api.schemas.common import NOT_BLANK, Timestamp
from app.api.schemas.support import (
    AuditEvent,
    AuditEventList,
    AvailableCode,
    AvailableCodeList,
    CustomerByEmail,
    CustomerById,
    IssuingLimits,
    IssuingLimitsSpec,
    LoggedVerdict,
    LoggedVerdictList,
    SupportCode,
    SupportCodeCreate,
)
from app.domain.engine import message_for
from app.domain.support import IssuingLimits as IssuingLimitsValue
from app.domain.support import customer_key
from app.services import support as service
from app.services.audit import list_events

router = APIRouter(tags=["support"])


@router.post(
    "/v1/support/codes",
    status_code=status.HTTP_201_CREATED,
    response_model=SupportCode,
    summary="Issue a one-off apology code bound to one customer",
    description=(
        "Single use, only for that customer (others get `customer_mismatch`), expiring after "
        "30 days unless `expires_at` says otherwise. The key's issuing limits apply: a value "
        "over its per-code limit, or a fixed amount that would pass its daily total, is "
        "refused with `issuing_limit_exceeded`; a support key without limits cannot issue. "
        "Requires an `Idempotency-Key`: a retry returns the same code (with "
        "`Idempotent-Replayed: true`). The reason goes to the audit trail."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
)
async def issue_support_code(
    request: Request,
    body: SupportCodeCreate,
    uow: UowDep,
    key: SupportKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> OrjsonResponse:
    customer = body.customer
    terms = service.ApologyTerms(
        customer_id=customer_key(
            customer.id if isinstance(customer, CustomerById) else None,
            customer.email if isinstance(customer, CustomerByEmail) else None,
        ),
        reason=body.reason.strip(),
        amount=body.amount_off.amount if body.amount_off else None,
        currency=body.amount_off.currency if body.amount_off else None,
        basis_points=body.percent_off,
        free_shipping=body.free_shipping,
        skus=frozenset(body.skus),
        expires_at=body.expires_at,
    )
    claim = idempotency_claim(request, key.id, idempotency_key, body.model_dump(mode="json"))
    return written(await service.issue_code(uow, key, terms, claim, now))


@router.get(
    "/v1/customers/{customer_id}/codes",
    response_model=AvailableCodeList,
    summary="The codes bound to a customer that could be used now",
    description=(
        "Assigned to this customer (support codes, claimed pool codes, named codes bound to "
        "them), enabled, unexpired, with uses left, in an active campaign that has not ended; the "
        "soonest to expire first, at most 100. For the checkout to offer the next order's "
        "apology code without the customer typing it."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def list_customer_codes(
    customer_id: CustomerPath, uow: ReplicaUowDep, _: CheckoutOrSupportKey, now: NowDep
) -> AvailableCodeList:
    found = await service.available_codes(uow, customer_id, now)
    return AvailableCodeList(data=[AvailableCode.with_campaign(c, name) for c, name in found])


@router.get(
    "/v1/customers/{customer_id}/verdicts",
    response_model=LoggedVerdictList,
    summary="Why a customer's codes did not work: their refused codes, newest first",
    description=(
        "Every code refused at validate, redeem or hold for a request that named this "
        "customer, with the reason and the message the shopper got, for 30 days. Support "
        "and admin keys. Their redemptions are at `GET /v1/redemptions?customer_id=...`."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def list_customer_verdicts(
    customer_id: CustomerPath,
    uow: ReplicaUowDep,
    _: SupportKey,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> LoggedVerdictList:
    page = await service.recent_verdicts(
        uow, customer_id, limit=limit, before=decode_cursor(cursor)
    )
    last = page[-1] if len(page) == limit else None
    return LoggedVerdictList(
        data=[
            LoggedVerdict(
                at=verdict.at,
                source=verdict.source,
                code=verdict.code,
                reason=verdict.reason,
                message=message_for(verdict.reason),
                campaign_id=verdict.campaign_id,
            )
            for _, verdict in page
        ],
        next_cursor=encode_cursor(last[1].at, last[0]) if last else None,
    )


@router.put(
    "/v1/api-keys/{key_id}/issuing-limits",
    response_model=IssuingLimits,
    summary="Set what a key may issue as support codes (per code, and per UTC day)",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def set_issuing_limits(
    key_id: UUID, body: IssuingLimitsSpec, uow: UowDep, key: AdminKey
) -> IssuingLimits:
    limits = IssuingLimitsValue(
        api_key_id=key_id,
        currency=body.currency,
        max_code_amount=body.max_code_amount,
        max_code_basis_points=body.max_code_basis_points,
        daily_amount=body.daily_amount,
    )
    return IssuingLimits.of(await service.set_issuing_limits(uow, key, limits))


@router.get(
    "/v1/api-keys/{key_id}/issuing-limits",
    response_model=IssuingLimits,
    summary="What a key may issue as support codes",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_issuing_limits(key_id: UUID, uow: UowDep, _: AdminKey) -> IssuingLimits:
    return IssuingLimits.of(await service.get_issuing_limits(uow, key_id))


@router.get(
    "/v1/audit-events",
    response_model=AuditEventList,
    summary="The audit trail of admin and support writes, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_audit_events(
    uow: ReplicaUowDep,
    _: AdminKey,
    customer_id: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=NOT_BLANK)
    ] = None,
    api_key_id: UUID | None = None,
    campaign_id: UUID | None = None,
    since: Annotated[Timestamp | None, Query(description="At or after")] = None,
    until: Annotated[Timestamp | None, Query(description="Before")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> AuditEventList:
    events = await list_events(
        uow,
        customer_id=customer_id,
        api_key_id=api_key_id,
        campaign_id=campaign_id,
        since=since,
        until=until,
        limit=limit,
        before=decode_cursor(cursor),
    )
    last = events[-1] if len(events) == limit else None
    return AuditEventList(
        data=[AuditEvent.of(e) for e in events],
        next_cursor=encode_cursor(last.at, last.id) if last else None,
    )
