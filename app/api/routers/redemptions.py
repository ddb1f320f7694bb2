from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app import metrics
from app.api.deps import (
    CheckoutKey,
    CheckoutOrSupportKey,
    DeferredCheckoutKey,
    IdempotencyKeyDep,
    NowDep,
    ReplicaUowDep,
    SettingsDep,
    StatementsDep,
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
    served_by,
)
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse, written
from app.api.schemas.checkout import (
    Redemption,
    RedemptionCreate,
    RedemptionList,
    Return,
    ReturnCreate,
    ReturnList,
)
from app.api.schemas.common import PATH_ID
from app.domain.api_keys import Scope
from app.services import checkout_results, returns
from app.services import redemptions as service
from app.services.errors import RedemptionRefused
from app.settings import Settings

router = APIRouter(tags=["checkout"], route_class=FastRoute)
_SCOPES = (Scope.CHECKOUT,)


async def _redeem(request: Request) -> Response:
    """redeem, served without FastAPI's dependency resolution (api/fast_routes.py)."""
    call = await checkout_call(request, _SCOPES)
    key = idempotency_key_of(request)
    body = await json_body(request, RedemptionCreate)
    settings: Settings = request.app.state.settings
    terms = service.RedeemTerms(
        order_id=body.order_id,
        idempotency_key=key,
        request_hash=request_fingerprint(request, body.model_dump(mode="json")),
        balance_codes=tuple(body.balance_codes),
        cashback_pending=timedelta(days=settings.wallets.pending_days),
        code_policy=body.code_policy,
    )
    try:
        outcome = await service.redeem(
            call.statements,
            call.new_uow(),
            call.token,
            body.to_checkout_request(),
            terms,
            await now_of(request),
            settings.limits.max_discounts_per_order,
            settings.guesses,
        )
    except RedemptionRefused as refused:
        if not refused.replayed:
            metrics.code_verdicts(
                "redeem", (code["reason"] for code in refused.extensions["codes"])
            )
        raise
    if isinstance(outcome.answer, checkout_results.Redemption) and not outcome.replayed:
        metrics.code_verdicts("redeem", (code.reason for code in outcome.answer.codes))
        metrics.redemption_created()
    return written(outcome)


@router.post(
    "/v1/redeem",
    status_code=201,
    response_model=Redemption,
    summary="Consume the codes for an order",
    description=(
        "Re-validates and consumes every limit in one transaction. Requires an "
        "`Idempotency-Key`: a retry with the same key and body answers as the first request "
        "did, with `Idempotent-Replayed: true` (a refusal is replayed as the same 409), except "
        "that a redemption rolled back since is shown as it is now: `status: rolled_back`, "
        "still 201, never as a discount to honour; redeeming again needs a new key. The same "
        "key with another body is a 409 `idempotency_key_reused`. A refusal is a 409 "
        "`redemption_refused` listing each code's reason; `code_policy` says which codes "
        "that do not apply refuse it (by default, a code left out only by stacking does "
        "not: it is reported, not consumed, and `consumed_codes` lists what was). "
        "`balance_codes` (gift cards, "
        "wallets) then pay towards the total after discounts, each up to its balance, in the "
        "order sent; `amount_due` is what is left to charge. Cashback goes to the customer's "
        "wallet, pending through the return window."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 422, 429, 503),
)
@served_by(_redeem)
async def redeem(
    request: Request,
    body: RedemptionCreate,
    statements: StatementsDep,
    uow: UowDep,
    token: DeferredCheckoutKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    """The declaration FastAPI describes the route from; _redeem serves it."""
    raise AssertionError("served by _redeem")


@router.get(
    "/v1/redemptions",
    response_model=RedemptionList,
    summary="List redemptions, newest first: of an order, a customer, a code or a campaign",
    description=(
        "Filtered by any of `order_id`, `customer_id`, `code_id` and `campaign_id` (every "
        "one given must hold; none: all redemptions). Each redemption as it is now "
        "(`status: rolled_back` once rolled back). Pages follow `next_cursor`."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def list_redemptions(
    uow: ReplicaUowDep,
    _: CheckoutOrSupportKey,
    order_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=PATH_ID)] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=PATH_ID)] = None,
    code_id: UUID | None = None,
    campaign_id: UUID | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> OrjsonResponse:
    where = service.RedemptionFilter(order_id, customer_id, code_id, campaign_id)
    page = await service.list_redemptions(uow, where, limit=limit, before=decode_cursor(cursor))
    last = page[-1] if len(page) == limit else None
    next_cursor = encode_cursor(last.created_at, last.id) if last else None
    return OrjsonResponse({"data": page, "next_cursor": next_cursor})


@router.get(
    "/v1/redemptions/{redemption_id}",
    response_model=Redemption,
    summary="Get a redemption",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_redemption(redemption_id: UUID, uow: UowDep, _: CheckoutKey) -> OrjsonResponse:
    return OrjsonResponse(await service.get_redemption(uow, redemption_id))


@router.post(
    "/v1/redemptions/{redemption_id}/rollback",
    response_model=Redemption,
    summary="Give back exactly what a redemption consumed (payment failed, order cancelled)",
    description=(
        "Code and customer uses, what gift cards and wallets paid (back into the lots it came "
        "from), the cashback it credited and the loyalty points its `order_id` earned. "
        "Idempotent: rolling back again returns the rolled-back redemption unchanged. A hold "
        "is released (`status: released`), as `POST /v1/holds/{id}/release` does."
    ),
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def rollback_redemption(
    redemption_id: UUID, statements: StatementsDep, uow: UowDep, key: CheckoutKey, now: NowDep
) -> OrjsonResponse:
    rolled_back = await service.rollback_redemption(statements, uow, redemption_id, now, key.id)
    return OrjsonResponse(rolled_back)


@router.post(
    "/v1/redemptions/{redemption_id}/returns",
    status_code=201,
    response_model=Return,
    summary="Return some of a redeemed order's lines",
    description=(
        "The order's promotions are applied again, as they were when it was redeemed, to what "
        "stays (minimums, tiers and buy-X-get-Y see the smaller cart); no promotion gives more "
        "than before, and a return never makes the shopper owe: when the discount lost is "
        "worth more than what came back, `refund_amount` is 0. What the smaller discount gives "
        "back goes back: campaign money budgets, gift cards and wallets (what they paid beyond "
        "the new total, the last payment first), cashback, and the returned part's share of "
        "the points its `order_id` earned. Use limits, redemption budgets and period counters "
        "come back only when every line is: the redemption is then rolled back "
        "(`order_returned`), and a rollback after partial returns gives back exactly the "
        "rest. Requires an `Idempotency-Key`. 409 `not_returnable` for a hold or a redemption "
        "rolled back; 422 `invalid_return` for a sku not in the order or more than is left."
    ),
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def return_lines(
    request: Request,
    redemption_id: UUID,
    body: ReturnCreate,
    uow: UowDep,
    key: CheckoutKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    claim = idempotency_claim(request, key.id, idempotency_key, body.model_dump(mode="json"))
    returned = await returns.return_lines(
        uow, redemption_id, body.wanted(), claim, now, settings.limits.max_discounts_per_order
    )
    return written(returned)


@router.get(
    "/v1/redemptions/{redemption_id}/returns",
    response_model=ReturnList,
    summary="A redemption's returns, oldest first",
    description="Each as `POST /v1/redemptions/{id}/returns` answered it.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_returns(
    redemption_id: UUID, uow: ReplicaUowDep, _: CheckoutOrSupportKey
) -> OrjsonResponse:
    return OrjsonResponse({"data": await returns.list_returns(uow, redemption_id)})
