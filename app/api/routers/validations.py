from fastapi import APIRouter

from app.api.deps import CheckoutKey, NowDep, UowDep
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse
from app.api.schemas.checkout import Validation, ValidationRequest
from app.domain.context import EvaluationContext
from app.services.validations import validate_codes

router = APIRouter(tags=["checkout"])


@router.post(
    "/v1/validate",
    response_model=Validation,
    summary="What the codes would take off this cart, with a reason for every verdict",
    description=(
        "Read-only: never changes a counter. Codes apply in request order, each to what the "
        "ones before it left. A refused code is a verdict (200), not an error."
    ),
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def validate(
    body: ValidationRequest, uow: UowDep, _: CheckoutKey, now: NowDep
) -> OrjsonResponse:
    request = body.to_checkout_request()
    ctx = EvaluationContext(now=now, customer_id=request.customer_id)
    return OrjsonResponse(await validate_codes(uow, request, ctx))
