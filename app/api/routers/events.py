from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from app.api.deps import AdminKey, NowDep, ReplicaUowDep, UowDep
from app.api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.responses import OrjsonResponse
from app.api.schemas.events import (
    EventList,
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointList,
)
from app.domain.events import EVENT_TYPES, EventType
from app.services import events, webhooks

router = APIRouter(tags=["events"])


@router.get(
    "/v1/events",
    response_model=EventList,
    summary="Events after a cursor, in the order a consumer can rely on",
    description=(
        "Every change other systems care about (redemptions, holds, returns, codes issued, "
        "campaigns paused, budgets exhausted, points and balances) is an event written in "
        "the change's own transaction. A consumer keeps `next_cursor` and asks again with it "
        "as `after`: it sees every event exactly once, even while writers commit out of "
        "order (an event is listed once every transaction older than its own has ended). "
        "`types` filters (`?types=redemption.created&types=redemption.rolled_back`)."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def list_events(
    uow: UowDep,
    _: AdminKey,
    after: Annotated[
        str | None, Query(max_length=200, description="A `cursor` or `next_cursor` from before")
    ] = None,
    types: Annotated[
        list[EventType] | None,
        Query(max_length=len(EVENT_TYPES), description="Only these types (repeat the parameter)"),
    ] = None,
    limit: LimitQuery = 100,
) -> OrjsonResponse:
    wanted = sorted(set(types or ()))
    page, next_cursor = await events.events_after(uow, after, wanted, limit)
    return OrjsonResponse({"data": page, "next_cursor": next_cursor})


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    response_model=NewWebhookEndpoint,
    summary="Register a webhook endpoint",
    description=(
        "It gets a POST for each event committed from now on (of `types`; none: all), "
        "signed: `Tessera-Signature: v1=<hex>` is HMAC-SHA256 with `secret` over "
        "`<Tessera-Timestamp>.<body>`. A worker (`make worker`) sends them and tries again "
        "with backoff until a 2xx; deliveries are at least once (`Tessera-Event-Id` tells)."
    ),
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def create_endpoint(
    body: WebhookEndpointCreate, uow: UowDep, key: AdminKey
) -> OrjsonResponse:
    made = await webhooks.create_endpoint(uow, str(body.url), body.types, key.id)
    return OrjsonResponse(made, status_code=201)


@router.get(
    "/v1/webhook-endpoints",
    response_model=WebhookEndpointList,
    summary="List webhook endpoints",
    responses=problem_responses(401, 403, 503),
)
async def list_endpoints(uow: UowDep, _: AdminKey) -> OrjsonResponse:
    return OrjsonResponse({"data": await webhooks.list_endpoints(uow)})


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/disable",
    response_model=WebhookEndpoint,
    summary="Stop sending to an endpoint (its deliveries wait)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def disable_endpoint(endpoint_id: UUID, uow: UowDep, key: AdminKey) -> OrjsonResponse:
    return OrjsonResponse(await webhooks.set_status(uow, endpoint_id, "disabled", key.id))


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/enable",
    response_model=WebhookEndpoint,
    summary="Send to an endpoint again (what waited is sent)",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def enable_endpoint(endpoint_id: UUID, uow: UowDep, key: AdminKey) -> OrjsonResponse:
    return OrjsonResponse(await webhooks.set_status(uow, endpoint_id, "active", key.id))


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=WebhookDeliveryList,
    summary="An endpoint's deliveries, newest first: the delivery log",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def list_deliveries(
    endpoint_id: UUID,
    uow: ReplicaUowDep,
    _: AdminKey,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> OrjsonResponse:
    page = await webhooks.deliveries(uow, endpoint_id, limit, decode_cursor(cursor))
    last = page[-1] if len(page) == limit else None
    next_cursor = encode_cursor(last.created_at, last.id) if last else None
    return OrjsonResponse({"data": page, "next_cursor": next_cursor})


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/replay",
    response_model=WebhookDelivery,
    summary="Send a delivery again (delivered, failed or pending)",
    description="A worker sends it as soon as it can, with a fresh set of attempts.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def replay_delivery(
    delivery_id: UUID, uow: UowDep, key: AdminKey, now: NowDep
) -> OrjsonResponse:
    return OrjsonResponse(await webhooks.replay(uow, delivery_id, now, key.id))
