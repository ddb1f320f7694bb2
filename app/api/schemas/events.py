"""The event feed and webhook endpoints."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, Field, UrlConstraints

from app.api.schemas.common import FROM_JSON_STRING, RequestModel
from app.api.schemas.examples import example
from app.domain.events import EVENT_TYPES, EventType


class Event(BaseModel):
    id: int
    type: EventType
    subject_id: UUID | None = Field(
        description="The redemption, code, campaign or balance account it is about"
    )
    data: dict[str, Any] = Field(description="The subject as the change left it")
    created_at: datetime
    cursor: str = Field(description="Pass it as `after` to read what follows this event")


class EventList(BaseModel):
    data: list[Event]
    next_cursor: str | None = Field(
        description="Where to read on from: the last event's cursor (with no event, the "
        "`after` sent). Keep it; events never appear before it later"
    )


WebhookUrl = Annotated[
    AnyHttpUrl, UrlConstraints(max_length=2000, allowed_schemes=["http", "https"])
]


class WebhookEndpointCreate(RequestModel):
    model_config = example("WebhookEndpointCreate")

    url: WebhookUrl = Field(description="Receives a POST per event")
    types: list[Annotated[EventType, FROM_JSON_STRING]] = Field(
        default_factory=list,
        max_length=len(EVENT_TYPES),
        description="The event types it gets; empty: all",
    )


class WebhookEndpoint(BaseModel):
    id: UUID
    url: str
    types: list[str]
    status: Literal["active", "disabled"]
    created_at: datetime


class NewWebhookEndpoint(WebhookEndpoint):
    secret: str = Field(
        description="Signs every delivery (HMAC-SHA256); shown here only, keep it with the receiver"
    )


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpoint]


class WebhookDelivery(BaseModel):
    id: UUID
    endpoint_id: UUID
    event_id: int
    event_type: str
    status: Literal["pending", "delivered", "failed"] = Field(
        description="'pending' until the receiver answers 2xx ('delivered'), 'failed' after "
        "the last attempt"
    )
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a worker tries next (pending)")
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's last HTTP status, if any")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveryList(BaseModel):
    data: list[WebhookDelivery]
    next_cursor: str | None
