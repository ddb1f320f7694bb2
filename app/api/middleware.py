"""Pure ASGI middleware: request ids, the body-size limit, and one timing per request that feeds
both the access-log line and the HTTP metrics."""

import logging
import re
import time
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import current_request_id

logger = logging.getLogger("tessera.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The route label and log field when no route matched: the raw path may hold codes, e-mails
# or keys, and would give the metrics one series per URL.
UNMATCHED_ROUTE = "unmatched"


class BodyTooLargeError(Exception):
    pass


class RequestContextMiddleware:
    """Accept a well-formed X-Request-ID or make one, echo it, and make it the request id of
    every record logged while the request is served. Refuse bodies over max_body_bytes with
    413 before the route reads them. When the response is sent, log one access line and count
    the request by method, route template and status: never the raw path, query, headers or
    body, which can hold codes, e-mails and keys."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        context = current_request_id.set(request_id)
        header = (b"x-request-id", request_id.encode())
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # The route may turn this into a 400 while parsing; the flag lets the
                    # problem handler answer 413 instead.
                    scope["state"]["body_too_large"] = True
                    raise BodyTooLargeError
            return message

        try:
            if _declared_length(scope) > self.max_body_bytes:
                raise BodyTooLargeError
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLargeError:
            if response_started:
                raise
            await self._too_large(request_id, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            current_request_id.reset(context)
            route = scope.get("route")
            # path_format: the template without converters ("{gift_card_id}", not ":uuid").
            template = getattr(route, "path_format", UNMATCHED_ROUTE)
            metrics.http_request(scope["method"], template, status, seconds)
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )

    async def _too_large(self, request_id: str, send: Send) -> None:
        body = orjson.dumps(
            {
                "type": "/problems/payload_too_large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"The request body is larger than {self.max_body_bytes} bytes.",
                "instance": request_id,
                "code": "payload_too_large",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
