"""Access logs name the route template, never what the caller sent; every record logged while a
request is served carries its id; /metrics counts requests and verdicts."""

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from app.domain.benefits import PercentOff
from tests.factories import Factory, cart

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


async def sample(client: AsyncClient, name: str, **labels: str) -> float:
    """The value of one sample in /metrics (0 when it has none yet)."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


class TestAccessLog:
    async def test_names_the_route_template_and_nothing_the_caller_sent(
        self, client: AsyncClient, checkout: dict[str, str], logs: Any
    ) -> None:
        headers = {**checkout, "X-Request-ID": "req-abc"}
        response = await client.get(
            f"/v1/customers/{EMAIL}/wallets", params={"email": EMAIL}, headers=headers
        )
        await client.post(
            "/v1/validate",
            json={"codes": [SECRET_CODE], "customer": {"id": EMAIL}, "cart": CART},
            headers=checkout,
        )
        await client.get(f"/v1/gift-cards/{uuid.uuid4()}", headers=checkout)
        await client.get(f"/v1/gift-cards/{SECRET_CODE}", headers=checkout)
        printed = json.dumps(lines := logs())
        for secret in (SECRET_CODE, EMAIL, checkout["Authorization"].split()[1], "email="):
            assert secret not in printed
        access = [line for line in lines if line["logger"] == "tessera.access"]
        assert [(line["method"], line["route"]) for line in access] == [
            ("GET", "/v1/customers/{customer_id}/wallets"),
            ("POST", "/v1/validate"),
            ("GET", "/v1/gift-cards/{gift_card_id}"),
            ("GET", "unmatched"),
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


class TestMetrics:
    async def test_exposition_has_every_family_and_stays_out_of_the_contract(
        self, app: FastAPI, client: AsyncClient
    ) -> None:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(response.text)}
        assert names >= {
            "tessera_http_requests",
            "tessera_http_request_duration_seconds",
            "tessera_code_verdicts",
            "tessera_redemptions",
            "tessera_rollbacks",
            "tessera_failed_guesses",
            "tessera_db_pool_connections_in_use",
            "tessera_db_pool_wait_seconds",
        }
        assert "/metrics" not in app.openapi()["paths"]

    async def test_a_validate_is_counted_by_route_status_and_verdict(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(PercentOff(1000)), "OBS10")
        route = {"method": "POST", "route": "/v1/validate", "status": "200"}
        applied = {"endpoint": "validate", "reason": "applied"}
        unknown = {"endpoint": "validate", "reason": "not_found"}
        before = [
            await sample(client, "tessera_http_requests_total", **route),
            await sample(client, "tessera_http_request_duration_seconds_count", **route),
            await sample(client, "tessera_code_verdicts_total", **applied),
            await sample(client, "tessera_code_verdicts_total", **unknown),
        ]
        response = await client.post(
            "/v1/validate", json={"codes": ["obs10", "NOPE-1"], "cart": CART}, headers=checkout
        )
        assert response.status_code == 200
        after = [
            await sample(client, "tessera_http_requests_total", **route),
            await sample(client, "tessera_http_request_duration_seconds_count", **route),
            await sample(client, "tessera_code_verdicts_total", **applied),
            await sample(client, "tessera_code_verdicts_total", **unknown),
        ]
        assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]

    async def test_redeems_are_counted_once_and_refusals_by_reason(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(PercentOff(1000), per_customer_limit=1)
        await factory.code(campaign, "ONCE10")
        body = {"codes": ["ONCE10"], "customer": {"id": "cus_obs"}, "cart": CART}
        applied = {"endpoint": "redeem", "reason": "applied"}
        refused = {"endpoint": "redeem", "reason": "customer_limit_reached"}
        before = [
            await sample(client, "tessera_redemptions_total"),
            await sample(client, "tessera_code_verdicts_total", **applied),
            await sample(client, "tessera_code_verdicts_total", **refused),
        ]
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/v1/redeem", json=body, headers={**checkout, **key})
        replay = await client.post("/v1/redeem", json=body, headers={**checkout, **key})
        again = {"Idempotency-Key": str(uuid.uuid4())}
        second = await client.post("/v1/redeem", json=body, headers={**checkout, **again})
        assert [first.status_code, replay.status_code, second.status_code] == [201, 201, 409]
        after = [
            await sample(client, "tessera_redemptions_total"),
            await sample(client, "tessera_code_verdicts_total", **applied),
            await sample(client, "tessera_code_verdicts_total", **refused),
        ]
        assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]

    async def test_rollbacks_and_failed_guesses_are_counted(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(PercentOff(1000)), "BACK10")
        addressed = {"addressed": "true"}
        before = [
            await sample(client, "tessera_rollbacks_total"),
            await sample(client, "tessera_failed_guesses_total", **addressed),
        ]
        redeemed = await client.post(
            "/v1/redeem",
            json={"codes": ["BACK10"], "cart": CART},
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        rollback = f"/v1/redemptions/{redeemed.json()['id']}/rollback"
        for _ in range(2):  # the second changes nothing and is not counted
            assert (await client.post(rollback, headers=checkout)).status_code == 200
        guesses = {"codes": ["NOPE-1", "NOPE-2"], "cart": CART, "client_ip": "198.51.100.4"}
        await client.post("/v1/validate", json=guesses, headers=checkout)
        after = [
            await sample(client, "tessera_rollbacks_total"),
            await sample(client, "tessera_failed_guesses_total", **addressed),
        ]
        assert [b - a for a, b in zip(before, after, strict=True)] == [1, 2]
