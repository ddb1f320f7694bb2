"""openapi/openapi.json is the contract shops test against: the app must match it exactly.
After an intended change run `make openapi` and commit the file with the code."""

import json
import re
from pathlib import Path

from openapi_spec_validator import validate

from app.api.schemas.common import RequestModel
from scripts.export_openapi import openapi_document


def _request_models() -> dict[str, type[RequestModel]]:
    openapi_document()  # imports every schema module
    found: dict[str, type[RequestModel]] = {}
    pending = list(RequestModel.__subclasses__())
    while pending:
        model = pending.pop()
        found[model.__name__] = model
        pending.extend(model.__subclasses__())
    return found


MODELS = _request_models()

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


class TestOpenApiContract:
    def test_app_matches_the_committed_spec(self) -> None:
        committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
        assert openapi_document() == committed, (
            "the API drifted from openapi/openapi.json: run `make openapi`"
        )

    def test_every_operation_documents_its_problems(self) -> None:
        spec = openapi_document()
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if path.startswith("/v1/"):
                    assert {"401", "403"} <= set(operation["responses"]), (method, path)
                    assert "422" in operation["responses"] or method == "get", (method, path)
                for status, response in operation["responses"].items():
                    content = response.get("content", {})
                    if int(status) >= 400:
                        # Documented under the media type errors are sent as, and only there.
                        assert list(content) == ["application/problem+json"], (path, status)
                        schema = content["application/problem+json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/Problem"}

    def test_operation_ids_are_clean_and_unique(self) -> None:
        ids = [
            operation["operationId"]
            for operations in openapi_document()["paths"].values()
            for operation in operations.values()
        ]
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", i) for i in ids), ids
        assert "issueGiftCard" in ids

    def test_problem_extensions_are_declared(self) -> None:
        properties = openapi_document()["components"]["schemas"]["Problem"]["properties"]
        assert {
            "errors",
            "fields",
            "codes",
            "balance_codes",
            "retry_after",
            "space",
            "requested",
            "max_count",
            "problem_count",
            "problems",
            "limit",
            "available_points",
            "needed_points",
            "entry_id",
        } <= set(properties)

    def test_response_headers_are_documented(self) -> None:
        spec = openapi_document()
        assert set(spec["components"]["headers"]) >= {
            "X-Request-ID",
            "Retry-After",
            "Idempotent-Replayed",
            "Location",
        }
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                takes_key = any(
                    p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])
                )
                for status, response in operation["responses"].items():
                    headers = set(response.get("headers", {}))
                    assert "X-Request-ID" in headers, (method, path, status)
                    if status in ("429", "503"):
                        assert "Retry-After" in headers, (method, path, status)
                    if takes_key and status.startswith("2"):
                        assert "Idempotent-Replayed" in headers, (method, path, status)
                    if status == "202":
                        assert "Location" in headers, (method, path, status)

    def test_every_json_body_has_an_example_its_model_accepts(self) -> None:
        spec = openapi_document()
        bodies = 0
        for operations in spec["paths"].values():
            for operation in operations.values():
                content = operation.get("requestBody", {}).get("content", {})
                for media_type, body in content.items():
                    example = body.get("example")
                    assert example is not None, operation["operationId"]
                    if media_type == "application/json":
                        bodies += 1
                        name = body["schema"]["$ref"].rsplit("/", 1)[1]
                        model = MODELS[name]
                        model.model_validate_json(json.dumps(example))
        assert bodies >= 20

    def test_the_spec_is_valid_openapi(self) -> None:
        validate(json.loads(COMMITTED.read_text(encoding="utf-8")))

    def test_reason_codes_are_listed(self) -> None:
        reasons = openapi_document()["components"]["schemas"]["Reason"]["enum"]
        assert {
            "not_found",
            "limit_reached",
            "customer_limit_reached",
            "min_subtotal_not_met",
        } <= set(reasons)

    def test_the_spec_does_not_depend_on_the_host(self) -> None:
        """Time zones are validated by the server against tzdata, not listed from the host's
        files (a generated client also chokes on that enum)."""
        text = json.dumps(openapi_document())
        assert "Europe/Paris" in text  # an example
        assert '"localtime"' not in text
        assert "Etc/GMT+1" not in text
