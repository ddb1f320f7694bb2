from fastapi import APIRouter, Request
from starlette.responses import Response

from app import metrics
from app.api.deps import DeferredCheckoutKey, NowDep, SettingsDep, StatementsDep
from app.api.fast_routes import FastRoute, checkout_call, json_body, now_of, served_by
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse
from app.api.schemas.checkout import (
    Qualification,
    QualificationRequest,
    Validation,
    ValidationRequest,
)
from app.domain.api_keys import Scope
from app.domain.qualifications import QUALIFYING_CODES
from app.services.qualifications import qualify_cart
from app.services.validations import validate_codes
from app.settings import Settings

router = APIRouter(tags=["checkout"], route_class=FastRoute)
_SCOPES = (Scope.CHECKOUT,)


async def _validate(request: Request) -> Response:
    """validate, served without FastAPI's dependency resolution (api/fast_routes.py)."""
    call = await checkout_call(request, _SCOPES)
    body = await json_body(request, ValidationRequest)
    settings: Settings = request.app.state.settings
    verdict = await validate_codes(
        call.statements,
        call.token,
        body.to_checkout_request(),
        await now_of(request),
        settings.limits.max_discounts_per_order,
        settings.guesses,
        replica=call.replica,
    )
    metrics.code_verdicts("validate", (code.reason for code in verdict.codes))
    return OrjsonResponse(verdict)


@router.post(
    "/v1/validate",
    response_model=Validation,
    summary="What the codes would take off this cart, with a reason for every verdict",
    description=(
        "Takes nothing: never consumes a use. The requested codes and the live automatic "
        "promotions apply by priority, each to what the ones before it left; `applied` and "
        "`skipped` say what happened and why. A refused code is a verdict (200), not an error. "
        "Unknown codes and codes bound to another customer count as failed guesses, per key "
        "and per customer; past the allowance, requests with codes get 429 "
        "`too_many_failed_guesses` (with Retry-After) until the window ends. A code refused "
        "for a limit or budget that a hold past its end still holds is released first."
    ),
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 503),
)
@served_by(_validate)
async def validate(
    body: ValidationRequest,
    reads: StatementsDep,
    token: DeferredCheckoutKey,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    """The declaration FastAPI describes the route from; _validate serves it."""
    raise AssertionError("served by _validate")


async def _qualify(request: Request) -> Response:
    """qualifications, served without FastAPI's dependency resolution (api/fast_routes.py)."""
    call = await checkout_call(request, _SCOPES)
    body = await json_body(request, QualificationRequest)
    settings: Settings = request.app.state.settings
    result = await qualify_cart(
        call.replica or call.statements,
        call.token,
        body.to_checkout_request(),
        await now_of(request),
        settings.limits.max_discounts_per_order,
    )
    return OrjsonResponse(result)


@router.post(
    "/v1/qualifications",
    response_model=Qualification,
    summary="What this shopper could use on this cart: every offer that applies, best first",
    description=(
        "Read-only, one round trip to the database. Weighs every live automatic promotion, the "
        "enabled codes bound to the customer (support, claimed pool, reward and bound named "
        f"codes; the newest {QUALIFYING_CODES}) and the named codes of campaigns marked "
        f"`advertised` (the newest {QUALIFYING_CODES}), each alone against the cart: "
        "`offers` are those that apply, with what each would take off, best first; "
        "`near_misses` those a bigger cart would unlock, with their `shortfall`. Codes are "
        "not typed here, so nothing counts as a failed guess."
    ),
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
@served_by(_qualify)
async def qualifications(
    body: QualificationRequest,
    reads: StatementsDep,
    token: DeferredCheckoutKey,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    """The declaration FastAPI describes the route from; _qualify serves it."""
    raise AssertionError("served by _qualify")
