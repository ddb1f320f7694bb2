"""The checkout's hot paths without FastAPI's per-request machinery.

FastAPI resolves an endpoint's dependency tree on every request (cache keys, scopes, a call per
node) and validates a JSON body twice over (json.loads, then the model in Python mode): measured
on /v1/validate, ~40 % of its CPU. A FastRoute keeps the endpoint's signature for everything
FastAPI derives from it once (the OpenAPI description, the route's name and template), but
serves requests with a handler of its own, named by `@served_by(handler)`: one that reads the
key, validates the raw body with the model's own JSON validator and calls the service.

A handler does what the signature declares, and the API tests hold both to one behaviour: the
key first (401, also before a 422 or 415), unknown query parameters refused, a JSON body only as
`application/json`, the request's problems as the same problem+json. One difference: a handler
reports the first part of the request it finds wrong (path, then headers, then body), where
FastAPI lists the problems of every part in one 422. It honours the dependency overrides tests
use for the database and the clock.
"""

import inspect
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import (
    IDEMPOTENCY_KEY_HEADER,
    DeferredKey,
    get_database,
    is_json_content,
    request_time,
)
from app.clock import utc_now
from app.db.engine import Database
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import Scope
from app.services.errors import Unauthorized

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_Model = TypeVar("_Model", bound=BaseModel)
_MAX_IDEMPOTENCY_KEY = 255
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]+")


def served_by(handler: Handler) -> Callable[[_Endpoint], _Endpoint]:
    """Mark an endpoint of a FastRoute as served by handler."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        endpoint.fast_handler = handler  # type: ignore[attr-defined]
        return endpoint

    return mark


class FastRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler: Handler | None = getattr(self.endpoint, "fast_handler", None)
        return handler if handler is not None else super().get_route_handler()


async def _override(request: Request, dependency: Callable[..., Any]) -> Any:
    override = request.app.dependency_overrides.get(dependency)
    if override is None:
        return None
    value = override()
    return await value if inspect.isawaitable(value) else value


async def database_of(request: Request) -> Database:
    database: Database | None = await _override(request, get_database)
    return database if database is not None else request.app.state.database


async def now_of(request: Request) -> datetime:
    moment: datetime | None = await _override(request, request_time)
    return moment if moment is not None else utc_now()


def bearer_token_of(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    return token.strip()


def refuse_query_parameters(request: Request) -> None:
    """A route without query parameters refuses any (as api/deps.check_request does)."""
    if request.query_params:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in request.query_params
            ]
        )


@dataclass(frozen=True, slots=True)
class CheckoutCall:
    token: str
    """The raw API key, checked by the service in its own first statement."""
    statements: StatementUnitOfWork
    replica: StatementUnitOfWork | None
    """Statements on the read replica, when there is one: reads only."""
    database: Database

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.database.sessions)


async def checkout_call(request: Request, scopes: tuple[Scope, ...]) -> CheckoutCall:
    """The request's bearer token (401 without one) and units of work for its service. Should
    the request be refused for its content before the service checks the key, the key is
    checked then (api/problems.py: 401 before 415 or 422)."""
    refuse_query_parameters(request)
    token = bearer_token_of(request)
    database = await database_of(request)
    statements = StatementUnitOfWork(database.connect_for_read)
    request.state.deferred_key = DeferredKey(statements, token, scopes)
    replica = None
    if database.route is not None:
        replica = StatementUnitOfWork(database.connect_to_replica)
    return CheckoutCall(token, statements, replica, database)


def path_params_of(request: Request) -> dict[str, Any]:
    """The route's path parameters, validated and converted by FastAPI's own means from the
    endpoint's declaration (the same 422s as any route)."""
    route: APIRoute = request.scope["route"]
    values, errors = request_params_to_args(route.dependant.path_params, request.path_params)
    if errors:
        raise RequestValidationError(errors)
    return values


def idempotency_key_of(request: Request) -> str:
    """The Idempotency-Key header, refused as api/deps.idempotency_key refuses it."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    loc = ("header", IDEMPOTENCY_KEY_HEADER)
    if key is None:
        raise RequestValidationError([{"loc": loc, "msg": "Field required", "type": "missing"}])
    if not 1 <= len(key) <= _MAX_IDEMPOTENCY_KEY or _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise RequestValidationError(
            [
                {
                    "loc": loc,
                    "msg": "1-255 printable ASCII characters, no spaces",
                    "type": "string_pattern_mismatch",
                }
            ]
        )
    return key


async def json_body(request: Request, model: type[_Model]) -> _Model:
    """The body, validated from its raw bytes by the model's JSON validator (strict: what the
    spec types is what is taken)."""
    raw = await request.body()
    if raw and not is_json_content(request):
        # Answered 415 (api/problems.py), after the key.
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Not a JSON body", "type": "model_type"}]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as invalid:
        errors = [_in_body(error) for error in invalid.errors()]
        if not raw:
            errors = [{"loc": ("body",), "msg": "Field required", "type": "missing"}]
        raise RequestValidationError(errors) from None


def _in_body(error: Any) -> dict[str, Any]:
    if error["type"] == "json_invalid" and "number out of range" in error["msg"]:
        # Valid JSON with a number longer than any field takes: the value's problem (422), as
        # FastAPI's own parsing answers it (api/problems.py), not malformed JSON.
        return {"loc": ("body",), "msg": "A number has too many digits", "type": "too_long"}
    return {**error, "loc": ("body", *error["loc"])}
