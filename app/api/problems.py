"""RFC 9457 problem+json: the one shape of every error response, and the handlers that make it."""

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.deps import DeferredKey, is_json_content
from app.api.schemas.checkout import BalanceCodeResult, CodeResult
from app.db.errors import DATABASE_ERRORS, is_database_unavailable
from app.rendering import render
from app.services.api_keys import authenticate
from app.services.errors import AppError, ErrorCode

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("tessera.errors")


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ImportProblem(BaseModel):
    line: int = Field(description="1 is the header row")
    code: str | None = Field(description="The code on that line, when there was one")
    reason: str


class Problem(BaseModel):
    """An error, per RFC 9457. `code` is stable and machine-readable; `detail` is for people.
    The other members are extensions, each sent only with the codes named in its
    description."""

    type: str = Field(examples=["/problems/campaign_not_found"])
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request id.")
    code: ErrorCode
    errors: list[FieldError] | None = Field(
        default=None, description="`validation_error`: each field that is not valid."
    )
    fields: list[str] | None = Field(
        default=None,
        description="Business-rule refusals of one request (`invalid_campaign`, "
        "`invalid_gift_card`, `currency_mismatch`, ...): the request fields concerned.",
    )
    codes: list[CodeResult] | None = Field(
        default=None, description="`redemption_refused`: every code's verdict and reason."
    )
    balance_codes: list[BalanceCodeResult] | None = Field(
        default=None, description="`redemption_refused`: every balance code's verdict."
    )
    retry_after: int | None = Field(
        default=None, description="`too_many_failed_guesses`: seconds until codes may be tried."
    )
    space: int | None = Field(
        default=None, description="`code_space_too_small`: how many codes the spec can make."
    )
    requested: int | None = Field(
        default=None, description="`code_space_too_small`: the count asked for."
    )
    max_count: int | None = Field(
        default=None,
        description="`code_space_too_small`: the most codes the spec makes unguessable.",
    )
    problem_count: int | None = Field(
        default=None, description="`import_rejected`: rows that could not be imported."
    )
    problems: list[ImportProblem] | None = Field(
        default=None, description="`import_rejected`: the first problems, by line."
    )
    limit: Literal["per_code", "daily"] | None = Field(
        default=None, description="`issuing_limit_exceeded`: which limit the code passes."
    )
    available_points: int | None = Field(
        default=None, description="`insufficient_points`: what the member can spend now."
    )
    needed_points: int | None = Field(
        default=None, description="`insufficient_points`: what the reward costs."
    )
    entry_id: UUID | None = Field(
        default=None, description="`order_already_earned`: the earn entry of that order."
    )
    max_seconds: int | None = Field(
        default=None, description="`hold_too_long`: the longest hold this service allows."
    )


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: ErrorCode,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{code.value}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request_id_of(request),
        "code": code.value,
        **extensions,
    }
    return Response(
        render(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def request_id_of(request: Request | None) -> str | None:
    if request is None:
        return None
    return getattr(request.state, "request_id", None)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting a route's problem+json answers."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": _DESCRIPTIONS[status],
        }
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Bad request (malformed JSON, missing Idempotency-Key)",
    401: "Missing or invalid API key",
    403: "The API key lacks the needed scope",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Too many failed code guesses; retry after Retry-After seconds",
    503: "Database unavailable; retry later",
}

_HTTP_CODES = {
    400: (ErrorCode.MALFORMED_JSON, "Malformed JSON"),
    401: (ErrorCode.UNAUTHORIZED, "Missing or invalid API key"),
    403: (ErrorCode.FORBIDDEN, "Forbidden"),
    404: (ErrorCode.NOT_FOUND, "Not found"),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed"),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "Request body too large"),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
}


def _loc(loc: tuple[Any, ...]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        **exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return _malformed_json(request, "The request body is not valid JSON.")
    refused_key = await _deferred_key_refusal(request)
    if refused_key is not None:
        return refused_key
    if await _is_json_body_of_another_type(request):
        return problem_response(
            request,
            status=415,
            code=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            title=_HTTP_CODES[415][1],
            detail="Send the body as JSON, with 'Content-Type: application/json'.",
        )
    if any(_is_missing_idempotency_key(error) for error in errors):
        return problem_response(
            request,
            status=400,
            code=ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            title="An Idempotency-Key header is required",
            detail="Send an 'Idempotency-Key' header; reuse it when you retry this request.",
        )
    details = [
        {"loc": _loc(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in errors
    ]
    first = details[0]
    where = ".".join(str(part) for part in first["loc"])
    return problem_response(
        request,
        status=422,
        code=ErrorCode.VALIDATION_ERROR,
        title="The request is not valid",
        detail=f"{where}: {first['msg']}"
        + (f" (and {len(details) - 1} more)" if len(details) > 1 else ""),
        errors=details,
    )


def _malformed_json(request: Request, detail: str) -> Response:
    return problem_response(
        request,
        status=400,
        code=ErrorCode.MALFORMED_JSON,
        title=_HTTP_CODES[400][1],
        detail=detail,
    )


async def _deferred_key_refusal(request: Request) -> Response | None:
    """A route that checks its key inside its own work (deps.deferred_key) was
    refused for its content before that: check the key now, so a bad one is a 401 first."""
    deferred = getattr(request.state, "deferred_key", None)
    if not isinstance(deferred, DeferredKey):
        return None
    try:
        await authenticate(deferred.reads, deferred.token, *deferred.scopes)
    except AppError as refused:
        return await _app_error(request, refused)
    except DATABASE_ERRORS:
        return None  # the content's own problem is still the answer
    return None


async def _is_json_body_of_another_type(request: Request) -> bool:
    """FastAPI leaves a body that is not declared JSON undecoded, and its validation then
    fails on the body's shape: that is a 415."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return False
    return not is_json_content(request) and bool(await request.body())


def _is_missing_idempotency_key(error: Any) -> bool:
    loc = error.get("loc", ())
    return bool(
        error.get("type") == "missing"
        and len(loc) == 2
        and loc[0] == "header"
        and str(loc[1]).lower() == "idempotency-key"
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if getattr(request.state, "body_too_large", False):
        return problem_response(
            request,
            status=413,
            code=ErrorCode.PAYLOAD_TOO_LARGE,
            title="Request body too large",
            detail="The request body is larger than this service accepts.",
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI could not decode the JSON body (json.JSONDecodeError is answered earlier).
        if "integer string conversion" in str(exc.__cause__):
            return problem_response(
                request,
                status=422,
                code=ErrorCode.VALIDATION_ERROR,
                title="The request is not valid",
                detail="A number in the body has more digits than any field takes.",
            )
        return _malformed_json(request, "The request body is not valid JSON (or UTF-8).")
    code, title = _HTTP_CODES.get(exc.status_code, (ErrorCode.VALIDATION_ERROR, "Bad request"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        # The router names the methods of the first route it matched; a path served by
        # several routes (GET and PATCH, say) allows them all.
        allowed = allowed_methods(request.app.state.route_methods, request.url.path)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=headers or None,
    )


RouteMethods: TypeAlias = Sequence[tuple[re.Pattern[str], frozenset[str]]]


def route_methods(routes: Iterable[BaseRoute]) -> RouteMethods:
    """Each route's path pattern and methods, for 405 answers."""
    return [
        (route.path_regex, frozenset(route.methods or ()))
        for route in routes
        if isinstance(route, Route)
    ]


def allowed_methods(table: RouteMethods, path: str) -> list[str]:
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning(
        "database unavailable: %s",
        exc.__class__.__name__,
        extra={"request_id": request_id_of(request)},
    )
    return problem_response(
        request,
        status=503,
        code=ErrorCode.SERVICE_UNAVAILABLE,
        title="The service cannot serve requests right now",
        detail=(
            "The database did not answer in time, so this request may or may not have taken "
            "effect. Retry shortly: a write retried with the same Idempotency-Key takes effect "
            "at most once."
        ),
        headers={"Retry-After": "1"},
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", extra={"request_id": request_id_of(request)})
    return problem_response(
        request,
        status=500,
        code=ErrorCode.INTERNAL_ERROR,
        title="Internal error",
        detail="Something went wrong on our side; it was logged with this request's id.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error_type in DATABASE_ERRORS:
        app.add_exception_handler(error_type, _database_error)
    app.add_exception_handler(Exception, _unexpected)


async def _database_error(request: Request, exc: Exception) -> Response:
    """Lost connections, timeouts and restarts are the database being unavailable (503, retry);
    any other driver error is a bug and a 500."""
    if is_database_unavailable(exc):
        return await _database_unavailable(request, exc)
    return await _unexpected(request, exc)
