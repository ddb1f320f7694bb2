"""Failed code guesses are limited per customer and per client address (requests without one
share an allowance per key), with the counts in PostgreSQL; the key's own count is an alarm."""

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from app.api.deps import get_database, request_time
from app.db.engine import Database
from app.main import create_app
from app.settings import GuessSettings, Settings
from tests.factories import Factory, cart

START = datetime(2026, 11, 23, 12, tzinfo=UTC)
CART = cart(("shirt", 1, 4000))


class Clock:
    def __init__(self) -> None:
        self.now = START

    async def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def strict(
    settings: Settings, database: Database, clock: Clock
) -> AsyncIterator[AsyncClient]:
    """A client of an app allowing, in 10 minutes, 3 failed guesses per customer, 4 per client
    address, 5 for a key's requests without an address, and raising the key's alarm at 6."""
    guesses = GuessSettings(
        per_customer=3, per_address=4, per_key_unaddressed=5, key_alarm=6, window_seconds=600
    )
    app: FastAPI = create_app(settings.model_copy(update={"guesses": guesses}))
    app.dependency_overrides[get_database] = lambda: database
    app.dependency_overrides[request_time] = clock
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://tessera") as http:
        yield http


async def validate(
    client: AsyncClient,
    headers: dict[str, str],
    codes: list[str],
    customer: str | None,
    client_ip: str | None = None,
) -> Any:
    body: dict[str, Any] = {"codes": codes, "cart": CART}
    if customer is not None:
        body["customer"] = {"id": customer}
    if client_ip is not None:
        body["client_ip"] = client_ip
    return await client.post("/v1/validate", json=body, headers=headers)


class TestFailedGuesses:
    async def test_a_customer_past_the_allowance_waits_out_the_window(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory, clock: Clock
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        for attempt in range(3):
            tried = await validate(strict, checkout, [f"GUESS-{attempt}"], "mallory")
            assert tried.json()["codes"][0]["reason"] == "not_found"

        clock.now = START + timedelta(minutes=4)
        blocked = await validate(strict, checkout, ["REAL-CODE"], "mallory")
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "too_many_failed_guesses"
        # Blocked to the end of the window that began with the first failure.
        assert blocked.headers["Retry-After"] == "360"
        assert blocked.json()["retry_after"] == 360
        unknown = await validate(strict, checkout, ["NO-SUCH"], "mallory")
        assert unknown.json() == {**blocked.json(), "instance": unknown.json()["instance"]}

        no_codes = await validate(strict, checkout, [], "mallory")
        assert no_codes.status_code == 200
        someone_else = await validate(strict, checkout, ["REAL-CODE"], "alice")
        assert someone_else.json()["codes"][0]["reason"] is None

        clock.now = START + timedelta(minutes=10)
        again = await validate(strict, checkout, ["REAL-CODE"], "mallory")
        assert again.json()["codes"][0]["reason"] is None

    async def test_codes_bound_to_someone_else_count_as_guesses(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        for n in range(3):
            await factory.code(campaign, f"ALICES-{n}", customer_id="alice")
        for n in range(3):
            tried = await validate(strict, checkout, [f"ALICES-{n}"], "mallory")
            assert tried.json()["codes"][0]["reason"] == "customer_mismatch"
        assert (await validate(strict, checkout, ["ALICES-0"], "mallory")).status_code == 429

    async def test_rotating_customer_ids_meets_the_address_allowance(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        attacker = "198.51.100.23"
        for n in range(4):
            tried = await validate(strict, checkout, [f"X-{n}"], f"fresh-{n}", attacker)
            assert tried.json()["codes"][0]["reason"] == "not_found"
        blocked = await validate(strict, checkout, ["REAL-CODE"], "fresh-9", attacker)
        assert blocked.status_code == 429
        anonymous = await validate(strict, checkout, ["REAL-CODE"], None, attacker)
        assert anonymous.status_code == 429
        # Everybody else keeps working, with or without an address.
        for customer, address in [("alice", "203.0.113.7"), (None, "2001:db8::1"), ("bob", None)]:
            honest = await validate(strict, checkout, ["REAL-CODE"], customer, address)
            assert honest.json()["codes"][0]["reason"] is None, (customer, address)

    async def test_an_ipv6_subscriber_is_one_address(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        for n in range(4):
            await validate(strict, checkout, [f"X-{n}"], None, f"2001:db8:1:2::{n + 1:x}")
        other_host = await validate(strict, checkout, ["REAL-CODE"], None, "2001:db8:1:2:ffff::9")
        assert other_host.status_code == 429
        next_subscriber = await validate(strict, checkout, ["REAL-CODE"], None, "2001:db8:1:3::1")
        assert next_subscriber.status_code == 200

    async def test_requests_without_an_address_share_the_keys_allowance(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        # Five failures from carts without an address use up the five they share.
        for n, customer in enumerate([None, None, "a", "b", "c"]):
            assert (await validate(strict, checkout, [f"X-{n}"], customer)).status_code == 200
        assert (await validate(strict, checkout, ["REAL-CODE"], "d")).status_code == 429
        assert (await validate(strict, checkout, ["REAL-CODE"], None)).status_code == 429
        # Requests that name their shopper's address are not affected.
        addressed = await validate(strict, checkout, ["REAL-CODE"], "d", "203.0.113.7")
        assert addressed.status_code == 200

    async def test_the_keys_count_is_an_alarm_not_a_block(
        self,
        strict: AsyncClient,
        checkout: dict[str, str],
        factory: Factory,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        caplog.set_level(logging.INFO, logger="tessera.guesses")
        before = REGISTRY.get_sample_value("tessera_failed_guess_alarms_total") or 0.0
        addressed = {"addressed": "true"}
        guessed = REGISTRY.get_sample_value("tessera_failed_guesses_total", addressed) or 0.0
        for n in range(10):
            await validate(strict, checkout, [f"X-{n}"], f"c-{n}", f"198.51.100.{n + 1}")
        alarms = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(alarms) == 1, "one alarm per key and window"
        assert "failed-guess alarm" in alarms[0].getMessage()
        assert REGISTRY.get_sample_value("tessera_failed_guess_alarms_total") == before + 1
        assert REGISTRY.get_sample_value("tessera_failed_guesses_total", addressed) == guessed + 10
        honest = await validate(strict, checkout, ["REAL-CODE"], "alice", "203.0.113.7")
        assert honest.json()["codes"][0]["reason"] is None

    async def test_redeem_counts_and_honours_the_block(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory, clock: Clock
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        for n in range(3):
            refused = await strict.post(
                "/v1/redeem",
                json={"codes": [f"GUESS-{n}"], "customer": {"id": "mallory"}, "cart": CART},
                headers={**checkout, "Idempotency-Key": f"guess-{n}"},
            )
            assert refused.json()["codes"][0]["reason"] == "not_found"
        blocked = await strict.post(
            "/v1/redeem",
            json={"codes": ["REAL-CODE"], "customer": {"id": "mallory"}, "cart": CART},
            headers={**checkout, "Idempotency-Key": "real"},
        )
        assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_failed_guesses")
        # Nothing was stored under the key: once the window ends, the same request goes through.
        clock.now = START + timedelta(minutes=10)
        retried = await strict.post(
            "/v1/redeem",
            json={"codes": ["REAL-CODE"], "customer": {"id": "mallory"}, "cart": CART},
            headers={**checkout, "Idempotency-Key": "real"},
        )
        assert retried.status_code == 201, retried.text

    async def test_redeem_honours_the_address_block(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        attacker = "198.51.100.23"
        for n in range(4):
            await validate(strict, checkout, [f"X-{n}"], f"fresh-{n}", attacker)
        body = {"codes": ["REAL-CODE"], "cart": CART, "client_ip": attacker}
        blocked = await strict.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "from-attacker"}
        )
        assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_failed_guesses")
        honest = {**body, "client_ip": "203.0.113.7"}
        redeemed = await strict.post(
            "/v1/redeem", json=honest, headers={**checkout, "Idempotency-Key": "from-shopper"}
        )
        assert redeemed.status_code == 201, redeemed.text


class TestOneAttackerAgainstEveryShopper:
    async def test_guessing_with_fresh_customer_ids_does_not_switch_coupons_off(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        """With the default allowances: 100 requests of 10 unknown codes each, a fresh customer
        id every time, all from one address."""
        await factory.code(await factory.campaign(), "REAL-CODE")
        statuses = []
        for n in range(100):
            guesses = [f"GUESS-{n}-{i}" for i in range(10)]
            tried = await validate(client, checkout, guesses, f"bot-{n}", "198.51.100.99")
            statuses.append(tried.status_code)
        assert statuses[:5] == [200] * 5
        assert set(statuses[5:]) == {429}
        for n in range(5):
            honest = await validate(
                client, checkout, ["REAL-CODE"], f"shopper-{n}", f"203.0.113.{n + 1}"
            )
            assert honest.json()["codes"][0]["reason"] is None
