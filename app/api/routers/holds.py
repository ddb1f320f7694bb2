"""Holds: an order's discount taken while its payment runs, then redeemed or released."""

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Request

from app.api.deps import (
    AdminKey,
    CheckoutKey,
    DeferredCheckoutKey,
    IdempotencyKeyDep,
    NowDep,
    SettingsDep,
    StatementsDep,
    UowDep,
    request_fingerprint,
)
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse, written
from app.api.schemas.checkout import HoldCreate, HoldLapseRun, Redemption
from app.services import holds as service
from app.services.errors import HoldTooLong

router = APIRouter(tags=["checkout"])


@router.post(
    "/v1/holds",
    status_code=201,
    response_model=Redemption,
    summary="Hold what an order's redemption takes while its payment runs",
    description=(
        "Takes everything a redeem would (code uses, per-customer slots, campaign budgets) "
        "and what its `balance_codes` pay, for `hold_seconds`, as a redemption with "
        "`status: held` and `expires_at`: every "
        "limit counts it, so a code limited to 500 is never promised to 501 orders. Refused "
        "like a redeem (409 `redemption_refused`). Then `POST /v1/holds/{id}/redeem` when "
        "the payment succeeds (nothing is taken again), or `/release` when it fails; a hold "
        "past its end gives everything back by itself, gift-card and wallet payments into "
        "the lots they came from. Requires an `Idempotency-Key`, as redeem does."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
)
async def create_hold(
    request: Request,
    body: HoldCreate,
    statements: StatementsDep,
    uow: UowDep,
    token: DeferredCheckoutKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    seconds = body.hold_seconds or settings.holds.default_seconds
    if seconds > settings.holds.max_seconds:
        raise HoldTooLong(
            f"A hold lasts at most {settings.holds.max_seconds} seconds.",
            fields=["hold_seconds"],
            max_seconds=settings.holds.max_seconds,
        )
    terms = service.HoldTerms(
        order_id=body.order_id,
        idempotency_key=idempotency_key,
        request_hash=request_fingerprint(request, body.model_dump(mode="json")),
        lasts=timedelta(seconds=seconds),
        code_policy=body.code_policy,
        cashback_pending=timedelta(days=settings.wallets.pending_days),
        balance_codes=tuple(body.balance_codes),
    )
    outcome = await service.hold(
        statements,
        uow,
        token,
        body.to_checkout_request(),
        terms,
        now,
        settings.limits.max_discounts_per_order,
        settings.guesses,
    )
    return written(outcome)


@router.post(
    "/v1/holds/{hold_id}/redeem",
    response_model=Redemption,
    summary="Redeem a hold: the order is paid, keep what it holds",
    description=(
        "Takes nothing again, so it cannot lose a race now; credits the hold's cashback. "
        "Redeeming again returns the redemption. 409 `hold_ended` once the hold was released "
        "or ended, or when one of its campaigns is paused and does not honour its holds."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def redeem_hold(
    hold_id: UUID, uow: UowDep, _: CheckoutKey, now: NowDep, settings: SettingsDep
) -> OrjsonResponse:
    pending = timedelta(days=settings.wallets.pending_days)
    return OrjsonResponse(await service.redeem_hold(uow, hold_id, now, pending))


@router.post(
    "/v1/holds/{hold_id}/release",
    response_model=Redemption,
    summary="Release a hold: the payment failed, give back everything it took",
    description=(
        "Releasing again returns the released hold. A redeemed hold is a redemption: 409 "
        "`hold_ended` (roll the redemption back instead)."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def release_hold(
    hold_id: UUID, statements: StatementsDep, uow: UowDep, key: CheckoutKey, now: NowDep
) -> OrjsonResponse:
    return OrjsonResponse(await service.release_hold(statements, uow, hold_id, now, key.id))


@router.post(
    "/v1/hold-lapse-runs",
    response_model=HoldLapseRun,
    summary="Release the holds past their end now (the worker does it every 30 s)",
    description=(
        "Up to 1,000 per call, soonest ended first. Safe to run twice or at once: a hold "
        "gives back what it held once. A validate or redeem refused for a limit or budget "
        "releases first the lapsed holds (up to 50) that hold what it was refused for."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def run_hold_lapse(
    statements: StatementsDep, uow: UowDep, _: AdminKey, now: NowDep
) -> HoldLapseRun:
    return HoldLapseRun(released=await service.lapse_run(statements, uow, now, 1_000))
