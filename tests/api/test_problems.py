"""Every bad input is a clear 4xx in the problem+json envelope, never a 500."""

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Annotated, get_args, get_origin
from uuid import UUID

import pytest
from httpx import AsyncClient
from pydantic import AwareDatetime, Strict

from app.api.schemas.common import RequestModel
from app.domain.api_keys import Scope
from app.main import create_app
from tests.factories import Factory, bearer, cart

VALID_CART = cart(("a", 1, 1000))


def request_models() -> list[type[RequestModel]]:
    """Every request body model of the app (and the models they nest)."""
    create_app  # noqa: B018 - importing the app imports every router and schema
    found: list[type[RequestModel]] = []
    pending: list[type[RequestModel]] = [RequestModel]
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found[1:]


def _leaves(annotation: object, marked: bool) -> Iterator[tuple[object, bool]]:
    """The leaf types of a field's annotation, each with whether it is read from a string."""
    if get_origin(annotation) is Annotated:
        inner, *metadata = get_args(annotation)
        yield from _leaves(inner, marked or Strict(False) in metadata)
    elif get_args(annotation):
        for arg in get_args(annotation):
            yield from _leaves(arg, marked)
    else:
        yield annotation, marked


def _arrives_as_string(leaf: object) -> bool:
    return isinstance(leaf, type) and issubclass(
        leaf, Enum | UUID | datetime | date | time | Decimal | AwareDatetime
    )


def validate_body(**overrides: object) -> dict[str, object]:
    return {"codes": ["SUMMER10"], "cart": VALID_CART, **overrides}


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"/problems/{code}"
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    assert body["instance"] == response.headers["x-request-id"]
    return body


class TestMalformedRequests:
    async def test_malformed_json_is_400(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/validate",
            content=b'{"codes": ["A"',
            headers={**checkout, "content-type": "application/json"},
        )
        assert_problem(response, 400, "malformed_json")

    async def test_wrong_types_name_the_field(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        body = validate_body(
            cart={
                "currency": "EUR",
                "lines": [{"sku": "a", "quantity": "two", "unit_price_amount": 1}],
            }
        )
        problem = assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert errors[0]["loc"] == ["body", "cart", "lines", 0, "quantity"]
        assert "cart.lines.0.quantity" in str(problem["detail"])

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({"sku": "a", "quantity": 1, "unit_price_amount": -1}, "unit_price_amount"),
            ({"sku": "a", "quantity": 1, "unit_price_amount": 10**15}, "unit_price_amount"),
            ({"sku": "a", "quantity": 0, "unit_price_amount": 1}, "quantity"),
            ({"sku": "a", "quantity": 10**9, "unit_price_amount": 1}, "quantity"),
            ({"sku": "a", "quantity": 1.5, "unit_price_amount": 1}, "quantity"),
            ({"sku": "a", "quantity": 1, "unit_price_amount": 9.99}, "unit_price_amount"),
            ({"sku": "", "quantity": 1, "unit_price_amount": 1}, "sku"),
            ({"sku": "a", "quantity": 1, "unit_price_amount": 1, "colour": "red"}, "colour"),
        ],
    )
    async def test_bad_line_values_are_422(
        self,
        client: AsyncClient,
        checkout: dict[str, str],
        line: dict[str, object],
        field: str,
    ) -> None:
        body = validate_body(cart={"currency": "EUR", "lines": [line]})
        problem = assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )
        assert problem["errors"][0]["loc"][-1] == field  # type: ignore[index]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("quantity", "2"),
            ("quantity", True),
            ("unit_price_amount", "100"),
            ("unit_price_amount", False),
        ],
    )
    async def test_numbers_must_be_json_integers(
        self, client: AsyncClient, checkout: dict[str, str], field: str, value: object
    ) -> None:
        line = {"sku": "a", "quantity": 1, "unit_price_amount": 100, field: value}
        body = validate_body(cart={"currency": "EUR", "lines": [line]})
        assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            (
                "/v1/validate",
                validate_body(
                    cart={
                        "currency": "EUR",
                        "lines": [{"sku": "a", "quantity": 2.0, "unit_price_amount": 100}],
                    }
                ),
                "quantity",
            ),
            (
                "/v1/validate",
                validate_body(
                    cart={
                        "currency": "EUR",
                        "lines": [{"sku": "a", "quantity": 1, "unit_price_amount": 1000.0}],
                    }
                ),
                "unit_price_amount",
            ),
            *(
                (
                    "/v1/validate",
                    validate_body(customer={"id": "c", "first_order": v}),
                    "first_order",
                )
                for v in (0, 1.0, "false", "true")
            ),
            (
                "/v1/loyalty/programs",
                {
                    "name": "Club",
                    "currency": "EUR",
                    "earn_rate": {"points": 1, "per_amount": 100},
                    "allow_negative_balance": 0,
                },
                "allow_negative_balance",
            ),
            (
                "/v1/campaigns",
                {"name": "x", "effects": [{"type": "percent_off", "basis_points": 1000.0}]},
                "basis_points",
            ),
        ],
    )
    async def test_values_are_taken_exactly_as_the_spec_types_them(
        self,
        client: AsyncClient,
        factory: Factory,
        path: str,
        body: dict[str, object],
        field: str,
    ) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        problem = assert_problem(
            await client.post(path, json=body, headers=admin), 422, "validation_error"
        )
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert field in [error["loc"][-1] for error in errors], problem

    def test_every_request_model_is_strict_and_reads_strings_where_json_has_them(self) -> None:
        """Strict models refuse `1.0` for an integer; FastAPI validates decoded JSON as Python
        values, so a strict enum, UUID or timestamp field would also refuse its JSON string.
        Every such field must say it is read from one (FROM_JSON_STRING)."""
        models = request_models()
        assert len(models) > 30
        unmarked = [
            f"{model.__name__}.{name}: {leaf}"
            for model in models
            for name, info in model.model_fields.items()
            for leaf, marked in _leaves(info.annotation, Strict(False) in info.metadata)
            if _arrives_as_string(leaf) and not marked
        ]
        assert not unmarked
        assert all(model.model_config.get("strict") is True for model in models)

    @pytest.mark.parametrize("currency", ["XYZ", "eur", "EURO", ""])
    async def test_unknown_currency_is_422(
        self, client: AsyncClient, checkout: dict[str, str], currency: str
    ) -> None:
        body = validate_body(cart={"currency": currency, "lines": VALID_CART["lines"]})
        assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )

    async def test_empty_cart_is_422(self, client: AsyncClient, checkout: dict[str, str]) -> None:
        empty = validate_body(cart={"currency": "EUR", "lines": []})
        assert_problem(
            await client.post("/v1/validate", json=empty, headers=checkout), 422, "validation_error"
        )

    async def test_eleven_codes_are_422(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        many = validate_body(codes=[f"C{i}" for i in range(11)])
        assert_problem(
            await client.post("/v1/validate", json=many, headers=checkout), 422, "validation_error"
        )

    async def test_ten_thousand_lines_is_422(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        lines = [{"sku": f"s{i}", "quantity": 1, "unit_price_amount": 1} for i in range(10_000)]
        body = validate_body(cart={"currency": "EUR", "lines": lines})
        problem = assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )
        assert problem["errors"][0]["loc"] == ["body", "cart", "lines"]  # type: ignore[index]

    async def test_oversized_body_is_413(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/validate",
            content=b'{"codes": ["' + b"A" * 2_000_000 + b'"]}',
            headers={**checkout, "content-type": "application/json"},
        )
        assert_problem(response, 413, "payload_too_large")

    @pytest.mark.parametrize(
        "code",
        ["SUMMER\x0010", "SUM\u200bMER", "\u202eREVERSED", "A" * 101, ""],
    )
    async def test_codes_with_control_or_invisible_characters_are_422(
        self, client: AsyncClient, checkout: dict[str, str], code: str
    ) -> None:
        body = validate_body(codes=[code])
        assert_problem(
            await client.post("/v1/validate", json=body, headers=checkout), 422, "validation_error"
        )

    @pytest.mark.parametrize("code", ["ÉTÉ-2026", "two words", "💸", "\uff33\uff35\uff2d"])
    async def test_odd_but_printable_codes_get_a_verdict(
        self, client: AsyncClient, checkout: dict[str, str], code: str
    ) -> None:
        response = await client.post(
            "/v1/validate", json=validate_body(codes=[code]), headers=checkout
        )
        assert response.status_code == 200
        assert response.json()["codes"][0]["reason"] == "not_found"

    async def test_body_that_is_not_an_object_is_422(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        for raw in (b"[]", b"null", b"42", b'"text"'):
            response = await client.post(
                "/v1/validate",
                content=raw,
                headers={**checkout, "content-type": "application/json"},
            )
            assert_problem(response, 422, "validation_error")

    @pytest.mark.parametrize(
        "content_type",
        [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"],
    )
    async def test_a_json_body_of_another_media_type_is_415(
        self, client: AsyncClient, checkout: dict[str, str], content_type: str | None
    ) -> None:
        headers = {**checkout, **({"content-type": content_type} if content_type else {})}
        body = b'{"codes": [], "cart": {"currency": "EUR", "lines": []}}'
        response = await client.post("/v1/validate", content=body, headers=headers)
        assert_problem(response, 415, "unsupported_media_type")

    async def test_json_media_types_with_parameters_are_json(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        for content_type in ("application/json; charset=utf-8", "Application/JSON"):
            response = await client.post(
                "/v1/validate",
                content=b'{"codes": [], "cart": {"currency": "EUR", "lines": '
                b'[{"sku": "a", "quantity": 1, "unit_price_amount": 1}]}}',
                headers={**checkout, "content-type": content_type},
            )
            assert response.status_code == 200, (content_type, response.text)

    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("DELETE", "/v1/validate", "POST"),
            ("DELETE", "/v1/campaigns", "GET, POST"),
            ("PUT", "/v1/campaigns/00000000-0000-0000-0000-000000000000", "GET, PATCH"),
            # A literal segment beside a parameter: the card ids are UUIDs, "lookup" is not one.
            ("GET", "/v1/gift-cards/lookup", "POST"),
            ("DELETE", "/v1/gift-cards/00000000-0000-0000-0000-000000000000", "GET"),
        ],
    )
    async def test_405_lists_every_allowed_method(
        self, client: AsyncClient, method: str, path: str, allowed: str
    ) -> None:
        response = await client.request(method, path)
        assert_problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allowed

    async def test_oversized_chunked_body_is_413(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * 65_536

        response = await client.post(
            "/v1/validate",
            content=chunks(),
            headers={**checkout, "content-type": "application/json"},
        )
        assert_problem(response, 413, "payload_too_large")


class TestTextAndTimeThatTheDatabaseCannotHold:
    """PostgreSQL text and JSONB cannot hold NUL, and timestamps have a range: such input is a
    422 at the edge, never a driver error."""

    async def test_nul_in_order_id_is_422(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        body = {**validate_body(), "order_id": "order\u0000-1"}
        response = await client.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "nul-order"}
        )
        assert_problem(response, 422, "validation_error")

    @pytest.mark.parametrize(
        "metadata",
        [{"k\u0000": "v"}, {"k": "v\u0000"}, {"k": "x" * 1001}, {"k": 2**64}, {"k": -(2**53)}],
    )
    async def test_bad_metadata_is_422(
        self, client: AsyncClient, admin: dict[str, str], metadata: dict[str, object]
    ) -> None:
        body = {
            "name": "x",
            "effects": [{"type": "percent_off", "basis_points": 5}],
            "metadata": metadata,
        }
        assert_problem(
            await client.post("/v1/campaigns", json=body, headers=admin), 422, "validation_error"
        )

    @pytest.mark.parametrize(
        "moment",
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "1969-12-31T23:59:59Z",
            0,
            "1700000000",
            "2026-12-01 00:00:00",
        ],
    )
    async def test_timestamps_outside_the_supported_years_are_422(
        self, client: AsyncClient, admin: dict[str, str], moment: object
    ) -> None:
        body = {
            "name": "x",
            "effects": [{"type": "percent_off", "basis_points": 5}],
            "starts_at": moment,
        }
        problem = assert_problem(
            await client.post("/v1/campaigns", json=body, headers=admin), 422, "validation_error"
        )
        assert problem["errors"][0]["loc"] == ["body", "starts_at"]  # type: ignore[index]

    async def test_edge_of_the_supported_years_is_accepted(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        body = {
            "name": "x",
            "effects": [{"type": "percent_off", "basis_points": 5}],
            "starts_at": "1970-01-01T00:00:00+14:00",
            "ends_at": "8999-12-31T23:59:59-12:00",
        }
        assert (await client.post("/v1/campaigns", json=body, headers=admin)).status_code == 201


class TestRoutingProblems:
    async def test_unknown_route_is_404_problem(self, client: AsyncClient) -> None:
        assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")

    async def test_wrong_method_is_405_problem(self, client: AsyncClient) -> None:
        assert_problem(await client.delete("/v1/validate"), 405, "method_not_allowed")

    async def test_bad_path_id_is_422(self, client: AsyncClient, admin: dict[str, str]) -> None:
        assert_problem(
            await client.get("/v1/campaigns/not-a-uuid", headers=admin), 422, "validation_error"
        )

    async def test_unknown_query_parameter_is_422(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        response = await client.get("/v1/campaigns?limt=5", headers=admin)
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"] == [
            {"loc": ["query", "limt"], "msg": "Unknown query parameter", "type": "extra_forbidden"}
        ]
        assert (await client.get("/v1/campaigns?limit=5", headers=admin)).status_code == 200

    async def test_blank_identifiers_are_422_and_others_kept_exactly(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        blank = validate_body(customer={"id": "\u00a0 "})
        assert_problem(
            await client.post("/v1/validate", json=blank, headers=checkout), 422, "validation_error"
        )
        spaced = await client.post(
            "/v1/validate", json=validate_body(customer={"id": " cus 1 "}), headers=checkout
        )
        assert spaced.json()["customer_id"] == " cus 1 "

    async def test_bad_cursor_is_422(self, client: AsyncClient, admin: dict[str, str]) -> None:
        response = await client.get("/v1/campaigns?cursor=%%%", headers=admin)
        assert_problem(response, 422, "invalid_cursor")

    @pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
    async def test_a_cursor_outside_the_calendar_in_utc_is_422(
        self, client: AsyncClient, admin: dict[str, str], moment: str
    ) -> None:
        raw = f"{moment}|{uuid.uuid4()}".encode()
        cursor = base64.urlsafe_b64encode(raw).decode()
        for path in ("/v1/campaigns", "/v1/redemptions", "/v1/audit-events"):
            response = await client.get(path, params={"cursor": cursor}, headers=admin)
            assert_problem(response, 422, "invalid_cursor")


class TestRequestIds:
    async def test_given_request_id_is_echoed(self, client: AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "req-123"})
        assert response.headers["x-request-id"] == "req-123"

    async def test_missing_or_unsafe_request_id_is_replaced(self, client: AsyncClient) -> None:
        generated = (await client.get("/healthz")).headers["x-request-id"]
        assert len(generated) == 32
        replaced = (await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})).headers[
            "x-request-id"
        ]
        assert replaced != "a b\tc"
        assert len(replaced) == 32


class TestIdsUsedInUrls:
    """Customer and order ids name resources in URLs, where '/' cannot travel (servers decode
    %2F before routing): an id with one would be stored and then be out of reach."""

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/v1/validate", validate_body(customer={"id": "shop/42"})),
            ("/v1/redeem", validate_body(order_id="web/9001")),
            ("/v1/campaigns/00000000-0000-0000-0000-000000000000/claims", {"customer_id": "a/b"}),
        ],
    )
    async def test_a_slash_is_refused(
        self, client: AsyncClient, factory: Factory, path: str, body: dict[str, object]
    ) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        headers = {**admin, "Idempotency-Key": "slash"}
        problem = assert_problem(
            await client.post(path, json=body, headers=headers), 422, "validation_error"
        )
        assert "pattern" in str(problem["errors"])


class TestQueryIntegers:
    @pytest.mark.parametrize("limit", ["20.0", "2e1", "+20", " 20", "\uff12\uff10", "true"])
    async def test_are_digits_only(self, client: AsyncClient, factory: Factory, limit: str) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        response = await client.get("/v1/campaigns", params={"limit": limit}, headers=admin)
        assert_problem(response, 422, "validation_error")

    async def test_digits_are_taken(self, client: AsyncClient, factory: Factory) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        response = await client.get("/v1/campaigns", params={"limit": "20"}, headers=admin)
        assert response.status_code == 200


class TestTheKeyComesFirst:
    """A caller without a valid key learns nothing about its request's content: 401 before any
    422 or 415, also on /v1/validate, whose key is checked inside its one statement."""

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/validate",
            "/v1/redeem",
            "/v1/campaigns",
            "/v1/loyalty/programs/6f1c0d2e-8a4b-4c3d-9e5f-0a1b2c3d4e5f/members/ann/reward-redemptions",
            "/v1/loyalty/programs/not-a-uuid/members/%20/reward-redemptions",
        ],
    )
    @pytest.mark.parametrize(
        ("content", "content_type"),
        [(b'{"cart": 1}', "application/json"), (b"codes=A", "text/plain")],
    )
    async def test_a_bad_key_is_401_whatever_the_body(
        self, client: AsyncClient, path: str, content: bytes, content_type: str
    ) -> None:
        headers = {
            "Authorization": "Bearer tsk_not_a_key",
            "Content-Type": content_type,
            "Idempotency-Key": "k",
        }
        response = await client.post(path, content=content, headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == 'Bearer realm="tessera"'

    async def test_a_good_key_then_hears_about_the_body(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        bad = await client.post("/v1/validate", json={"cart": 1}, headers=checkout)
        assert_problem(bad, 422, "validation_error")
        typed = await client.post(
            "/v1/validate", content=b"{}", headers={**checkout, "Content-Type": "text/plain"}
        )
        assert_problem(typed, 415, "unsupported_media_type")

    async def test_bad_path_parameters_are_422_on_routes_served_without_dependencies(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        """The reward spend is served by its own handler (api/fast_routes.py); its path is
        still validated from the declaration, with the errors any route gives."""
        response = await client.post(
            "/v1/loyalty/programs/not-a-uuid/members/%20/reward-redemptions",
            json={"reward_id": str(uuid.uuid4())},
            headers={**checkout, "Idempotency-Key": "k"},
        )
        assert_problem(response, 422, "validation_error")
        assert [error["loc"] for error in response.json()["errors"]] == [
            ["path", "program_id"],
            ["path", "customer_id"],
        ]

    async def test_a_huge_number_is_a_422_not_malformed_json(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        body = b'{"cart": ' + b"9" * 5000 + b"}"
        response = await client.post(
            "/v1/validate", content=body, headers={**checkout, "Content-Type": "application/json"}
        )
        assert_problem(response, 422, "validation_error")
