from fastapi import APIRouter

from app import metrics
from app.api.deps import DeferredCheckoutKey, NowDep, SettingsDep, StatementsDep
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse
from app.api.schemas.checkout import Validation, ValidationRequest
from app.services.validations import validate_codes

router = APIRouter(tags=["checkout"])


@router.post(
    "/v1/validate",
    response_model=Validation,
    summary="What the codes would take off this cart, with a reason for every verdict",
    description=(
        "Read-only: never changes a counter. The requested codes and the live automatic "
        "promotions apply by priority, each to what the ones before it left; `applied` and "
        "`skipped` say what happened and why. A refused code is a verdict (200), not an error. "
        "Unknown codes and codes bound to another customer count as failed guesses, per key "
        "and per customer; past the allowance, requests with codes get 429 "
        "`too_many_failed_guesses` (with Retry-After) until the window ends."
    ),
    responses=problem_responses(400, 401, 403, 413, 422, 429, 503),
)
async def validate(
    body: ValidationRequest,
    reads: StatementsDep,
    token: DeferredCheckoutKey,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    request = body.to_checkout_request()
    max_discounts = settings.limits.max_discounts_per_order
    verdict = await validate_codes(reads, token, request, now, max_discounts, settings.guesses)
    metrics.code_verdicts("validate", verdict["codes"])
    return OrjsonResponse(verdict)
