"""The OpenAPI document as client generators and contract tests need it: FastAPI's, with errors
under the media type they are sent as, the response headers every answer carries, an example
for every JSON request body, and camelCase operationIds."""

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.problems import PROBLEM_MEDIA_TYPE

JSON = "application/json"
IDEMPOTENCY_KEY = "Idempotency-Key"

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: yours when you sent a well-formed `X-Request-ID` "
        "(1-128 of `A-Za-z0-9._:-`), else a new one. Problems repeat it as `instance`.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answers an earlier request with the same "
        "Idempotency-Key rather than doing the work again; absent on the first answer. The "
        "operation's description says what a replay shows.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with: `Bearer`.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where the job's progress can be read.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
}


def operation_id(route: APIRoute) -> str:
    """The route function's name in camelCase: `issue_gift_card` -> `issueGiftCard`."""
    head, *rest = route.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = finish(document)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components["headers"] = HEADERS
    schemas = components.get("schemas", {})
    for operations in document["paths"].values():
        for operation in operations.values():
            _problems_as_problem_json(operation)
            _document_headers(operation)
            _example_bodies(operation, schemas)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _problems_as_problem_json(operation: dict[str, Any]) -> None:
    """Errors are sent as application/problem+json; FastAPI files their schema under JSON."""
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        if int(status) >= 400 and JSON in content:
            content[PROBLEM_MEDIA_TYPE] = {"schema": {"$ref": "#/components/schemas/Problem"}}
            del content[JSON]


def _document_headers(operation: dict[str, Any]) -> None:
    idempotent = any(
        parameter.get("in") == "header" and parameter.get("name") == IDEMPOTENCY_KEY
        for parameter in operation.get("parameters", [])
    )
    for status, response in operation["responses"].items():
        code = int(status)
        headers = response.setdefault("headers", {})
        names = ["X-Request-ID"]
        if code in (429, 503):
            names.append("Retry-After")
        if code == 401:
            names.append("WWW-Authenticate")
        if idempotent and (200 <= code < 300 or code == 409):
            names.append("Idempotent-Replayed")
        if code == 202:
            names.append("Location")
        for name in names:
            headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})


_REF = re.compile(r"^#/components/schemas/(?P<name>.+)$")


def _example_bodies(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Copy a JSON body's schema example to the body itself, where generators and Swagger UI
    look first."""
    body = operation.get("requestBody", {}).get("content", {}).get(JSON)
    if body is None or "example" in body:
        return
    match = _REF.match(body.get("schema", {}).get("$ref", ""))
    examples = schemas.get(match["name"], {}).get("examples") if match else None
    if examples:
        body["example"] = examples[0]
