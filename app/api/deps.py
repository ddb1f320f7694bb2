"""Annotated dependencies shared by the routers."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clock import utc_now
from app.db.engine import SessionFactory
from app.db.repositories.api_keys import ApiKeyRecord
from app.db.uow import UnitOfWork
from app.services.api_keys import Scope, authenticate


def get_sessionmaker(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.sessionmaker
    return factory


def get_uow(sessionmaker: Annotated[SessionFactory, Depends(get_sessionmaker)]) -> UnitOfWork:
    return UnitOfWork(sessionmaker)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer tsk_...`")


def require_scope(scope: Scope) -> Callable[..., Awaitable[ApiKeyRecord]]:
    async def dependency(
        uow: UowDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKeyRecord:
        return await authenticate(uow, credentials.credentials if credentials else None, scope)

    return dependency


CheckoutKey = Annotated[ApiKeyRecord, Depends(require_scope(Scope.CHECKOUT))]
SupportKey = Annotated[ApiKeyRecord, Depends(require_scope(Scope.SUPPORT))]
AdminKey = Annotated[ApiKeyRecord, Depends(require_scope(Scope.ADMIN))]


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


def idempotency_key(
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


NowDep = Annotated[datetime, Depends(utc_now)]
