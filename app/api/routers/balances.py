from uuid import UUID

from fastapi import APIRouter, Request, status

from app.api.deps import (
    AdminKey,
    CheckoutOrSupportKey,
    IdempotencyKeyDep,
    NowDep,
    ReplicaUowDep,
    SettingsDep,
    UowDep,
    idempotency_claim,
)
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.params import CustomerPath
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse, written
from app.api.schemas.loyalty import (
    BalanceCode,
    BalanceCodeList,
    GiftCardCreate,
    GiftCardLookup,
    LedgerEntry,
    LedgerEntryList,
    TopUpCreate,
)
from app.services import balances as service

router = APIRouter(tags=["gift cards and wallets"])


@router.post(
    "/v1/gift-cards",
    status_code=status.HTTP_201_CREATED,
    response_model=BalanceCode,
    summary="Issue a gift card",
    description=(
        "A balance code worth `amount`; send it in `balance_codes` at /v1/redeem to pay. The "
        "code is drawn (16 characters, no look-alikes) unless given. Requires an "
        "`Idempotency-Key`: a retry returns the same card."
    ),
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
async def issue_gift_card(
    request: Request,
    body: GiftCardCreate,
    uow: UowDep,
    key: AdminKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> OrjsonResponse:
    terms = service.GiftCardTerms(
        currency=body.currency,
        amount=body.amount,
        code=body.code,
        customer_id=body.customer_id,
        expires_at=body.expires_at,
    )
    claim = idempotency_claim(request, key.id, idempotency_key, body.model_dump(mode="json"))
    return written(await service.issue_gift_card(uow, terms, claim, now))


@router.post(
    "/v1/gift-cards/lookup",
    response_model=BalanceCode,
    summary="Find a gift card by its code, and its balance",
    description=(
        "The code travels in the body, never in a URL (URLs end up in logs). The code is the "
        "card's secret, so a lookup counts like a code at /v1/validate: an unknown code, or "
        "one bound to another `customer_id`, is a failed guess for the customer and the "
        "`client_ip`, and past the allowance every lookup gets 429 "
        "`too_many_failed_guesses` whatever the code. Address the card by its `id` from then "
        "on."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
)
async def look_up_gift_card(
    body: GiftCardLookup,
    uow: UowDep,
    key: CheckoutOrSupportKey,
    now: NowDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    lookup = service.Lookup(
        code=body.code, customer_id=body.customer_id, client_ip=body.client_ip, api_key_id=key.id
    )
    return OrjsonResponse(await service.look_up_gift_card(uow, lookup, settings.guesses, now))


@router.get(
    "/v1/gift-cards/{gift_card_id:uuid}",
    response_model=BalanceCode,
    summary="A gift card and its balance",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def gift_card_balance(
    gift_card_id: UUID, uow: UowDep, _: CheckoutOrSupportKey, now: NowDep
) -> OrjsonResponse:
    return OrjsonResponse(await service.gift_card_balance(uow, gift_card_id, now))


@router.get(
    "/v1/gift-cards/{gift_card_id:uuid}/entries",
    response_model=LedgerEntryList,
    summary="A gift card's ledger, newest first",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def gift_card_history(
    gift_card_id: UUID,
    uow: ReplicaUowDep,
    _: CheckoutOrSupportKey,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> LedgerEntryList:
    entries = await service.gift_card_history(uow, gift_card_id, limit, decode_cursor(cursor))
    last = entries[-1] if len(entries) == limit else None
    return LedgerEntryList(
        data=[LedgerEntry.of(e) for e in entries],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.post(
    "/v1/gift-cards/{gift_card_id:uuid}/top-ups",
    response_model=BalanceCode,
    summary="Add value to a gift card",
    description="Requires an `Idempotency-Key`: a retry adds nothing more.",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def top_up(
    request: Request,
    gift_card_id: UUID,
    body: TopUpCreate,
    uow: UowDep,
    key: AdminKey,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> OrjsonResponse:
    claim = idempotency_claim(request, key.id, idempotency_key, body.model_dump(mode="json"))
    topped_up = await service.top_up(uow, gift_card_id, body.amount, body.currency, claim, now)
    return written(topped_up, status_code=200)


@router.get(
    "/v1/customers/{customer_id}/wallets",
    response_model=BalanceCodeList,
    summary="A customer's cashback wallets (one per currency)",
    description=(
        "Cashback credited at redeem waits in `pending_amount` through the return window; the "
        "wallet's `code` pays at /v1/redeem (`balance_codes`), for this customer only."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def customer_wallets(
    customer_id: CustomerPath, uow: ReplicaUowDep, _: CheckoutOrSupportKey, now: NowDep
) -> OrjsonResponse:
    wallets = await service.customer_wallets(uow, customer_id, now)
    return OrjsonResponse({"data": wallets})
