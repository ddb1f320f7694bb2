"""Access logs name the route template, never what the caller sent; every record logged while a
request is served carries its id."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import cart

CART = cart(("shirt", 2, 1999))
SECRET_CODE = "SECRET-CODE-7Q2X"
EMAIL = "ann.secret@example.com"


@pytest.fixture
def logs(app: FastAPI, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """The JSON lines the app prints to stderr, with Tessera's loggers at INFO (the tests'
    settings say warning)."""
    tessera = logging.getLogger("tessera")
    level = tessera.level
    tessera.setLevel(logging.INFO)
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines()]

    yield read
    tessera.setLevel(level)


class TestAccessLog:
    async def test_names_the_route_template_and_nothing_the_caller_sent(
        self, client: AsyncClient, checkout: dict[str, str], logs: Any
    ) -> None:
        headers = {**checkout, "X-Request-ID": "req-abc"}
        response = await client.get(
            f"/v1/gift-cards/{SECRET_CODE}", params={"email": EMAIL}, headers=headers
        )
        await client.post(
            "/v1/validate",
            json={"codes": [SECRET_CODE], "customer": {"id": EMAIL}, "cart": CART},
            headers=checkout,
        )
        printed = json.dumps(lines := logs())
        for secret in (SECRET_CODE, EMAIL, checkout["Authorization"].split()[1], "email="):
            assert secret not in printed
        access = [line for line in lines if line["logger"] == "tessera.access"]
        assert [(line["method"], line["route"]) for line in access] == [
            ("GET", "/v1/gift-cards/{code}"),
            ("POST", "/v1/validate"),
        ]
        first = access[0]
        assert first["status"] == response.status_code
        assert first["request_id"] == "req-abc" == response.headers["x-request-id"]
        assert isinstance(first["duration_ms"], float)
        assert first["ts"].endswith("Z")
        assert {"path", "query", "headers", "body"}.isdisjoint(first)

    async def test_an_unmatched_path_is_not_logged(self, client: AsyncClient, logs: Any) -> None:
        await client.get(f"/v1/codes-by-text/{SECRET_CODE}")
        (line,) = [line for line in logs() if line["logger"] == "tessera.access"]
        assert (line["route"], line["status"]) == ("unmatched", 404)
        assert SECRET_CODE not in json.dumps(line)

    async def test_records_logged_while_serving_carry_the_request_id(
        self, app: FastAPI, client: AsyncClient, logs: Any
    ) -> None:
        async def noisy() -> dict[str, str]:
            logging.getLogger("tessera.somewhere").warning("inside the request")
            return {}

        app.add_api_route("/_test/noisy", noisy)
        await client.get("/_test/noisy", headers={"X-Request-ID": "req-noisy"})
        logging.getLogger("tessera.somewhere").warning("after it")
        assert [(line["msg"], line["request_id"]) for line in logs()] == [
            ("inside the request", "req-noisy"),
            ("request", "req-noisy"),
            ("after it", None),
        ]
