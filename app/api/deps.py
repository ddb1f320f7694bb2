"""Annotated dependencies shared by the routers."""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clock import utc_now
from app.db.engine import Database
from app.db.uow import ReplicaUnitOfWork, StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import ApiKey as ApiKeyValue
from app.domain.api_keys import Scope
from app.services.api_keys import authenticate
from app.services.errors import Unauthorized
from app.services.idempotency import IdempotencyClaim
from app.settings import Settings

# Keyed by path and methods: routes are unhashable, and every app built here has the same ones.
_query_parameter_names: dict[tuple[str, frozenset[str]], frozenset[str]] = {}


def _query_parameters(route: APIRoute) -> frozenset[str]:
    key = (route.path, frozenset(route.methods or ()))
    known = _query_parameter_names.get(key)
    if known is not None:
        return known
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    _query_parameter_names[key] = frozenset(names)
    return _query_parameter_names[key]


async def check_request(request: Request) -> None:
    """Refuse query parameters a route does not define, as unknown body fields are refused: a
    misspelt `limt=5` fails loudly, not ignored. (A JSON body sent as another media type is
    answered 415 where its validation fails: api/problems.py.)"""
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute):
        return
    allowed = _query_parameters(route)
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )


def is_json_content(request: Request) -> bool:
    """The request's Content-Type is JSON: application/json or an application/*+json type."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_uow(database: DatabaseDep) -> UnitOfWork:
    return UnitOfWork(database.sessions)


async def get_statements(database: DatabaseDep) -> StatementUnitOfWork:
    return StatementUnitOfWork(database.connect_for_read)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_replica_uow(database: DatabaseDep) -> UnitOfWork:
    """A unit of work on the read replica (the primary when there is none, or it gives no
    connection), for reads that may lag the primary by a moment: listings, histories,
    balances. Never for a write."""
    return ReplicaUnitOfWork(database)


async def get_replica_statements(database: DatabaseDep) -> StatementUnitOfWork:
    return StatementUnitOfWork(database.connect_to_replica)


ReplicaUowDep = Annotated[UnitOfWork, Depends(get_replica_uow)]
ReplicaStatementsDep = Annotated[StatementUnitOfWork, Depends(get_replica_statements)]


async def get_uow_factory(database: DatabaseDep) -> Callable[[], UnitOfWork]:
    """New units of work, for a use case that opens one at a time of its own."""
    return lambda: UnitOfWork(database.sessions)


UowFactoryDep = Annotated[Callable[[], UnitOfWork], Depends(get_uow_factory)]
StatementsDep = Annotated[StatementUnitOfWork, Depends(get_statements)]


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tsk_...`")


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


def deferred_key(*scopes: Scope) -> Callable[..., Awaitable[str]]:
    """The raw API key of a route whose service checks it inside its own work (one round trip
    for the key and the work), which must hold one of scopes. Should the request be refused
    for its content before the service runs, the key is checked then (api/problems.py), so a
    bad key is a 401 first there as on every other route."""

    async def dependency(request: Request, reads: StatementsDep, token: BearerToken) -> str:
        request.state.deferred_key = DeferredKey(reads, token, scopes)
        return token

    return dependency


DeferredCheckoutKey = Annotated[str, Depends(deferred_key(Scope.CHECKOUT))]
DeferredCheckoutOrSupportKey = Annotated[str, Depends(deferred_key(Scope.CHECKOUT, Scope.SUPPORT))]


@dataclass(frozen=True, slots=True)
class DeferredKey:
    reads: StatementUnitOfWork
    token: str
    scopes: tuple[Scope, ...]


def require_scope(*scopes: Scope) -> Callable[..., Awaitable[ApiKeyValue]]:
    """The caller's key, which must hold one of scopes."""

    async def dependency(reads: StatementsDep, token: BearerToken) -> ApiKeyValue:
        return await authenticate(reads, token, *scopes)

    return dependency


CheckoutKey = Annotated[ApiKeyValue, Depends(require_scope(Scope.CHECKOUT))]
SupportKey = Annotated[ApiKeyValue, Depends(require_scope(Scope.SUPPORT))]
AdminKey = Annotated[ApiKeyValue, Depends(require_scope(Scope.ADMIN))]
CheckoutOrSupportKey = Annotated[ApiKeyValue, Depends(require_scope(Scope.CHECKOUT, Scope.SUPPORT))]


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


# api/fast_routes.idempotency_key_of checks the same for the checkout's fast routes.
async def idempotency_key(
    key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Unique per logical request (a UUID is good); a retry reuses it.",
        ),
    ],
) -> str:
    return key


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


def request_fingerprint(request: Request, payload: dict[str, Any]) -> bytes:
    """SHA-256 of the route and the parsed body in canonical form: key order and whitespace do
    not make two requests different."""
    canonical = orjson.dumps(
        {"path": request.url.path, "body": payload}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).digest()


def idempotency_claim(
    request: Request, key_id: UUID, idempotency_key: str, payload: dict[str, Any]
) -> IdempotencyClaim:
    """The claim a write makes on its Idempotency-Key, fingerprinting route and body."""
    return IdempotencyClaim(
        api_key_id=key_id, key=idempotency_key, request_hash=request_fingerprint(request, payload)
    )


async def request_time() -> datetime:
    """The one instant a request works at."""
    return utc_now()


NowDep = Annotated[datetime, Depends(request_time)]
