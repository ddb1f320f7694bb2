"""Failed code guesses are limited per customer and per API key, with the counts in PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

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
    """A client of an app allowing 3 failed guesses per customer and 5 per key in 10 minutes."""
    guesses = GuessSettings(per_customer=3, per_key=5, window_seconds=600)
    app: FastAPI = create_app(settings.model_copy(update={"guesses": guesses}))
    app.dependency_overrides[get_database] = lambda: database
    app.dependency_overrides[request_time] = clock
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://tessera") as http:
        yield http


async def validate(
    client: AsyncClient, headers: dict[str, str], codes: list[str], customer: str | None
) -> Any:
    body: dict[str, Any] = {"codes": codes, "cart": CART}
    if customer is not None:
        body["customer"] = {"id": customer}
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

    async def test_the_key_has_its_own_allowance(
        self, strict: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.code(await factory.campaign(), "REAL-CODE")
        # Five failures from anonymous carts and different customers use up the key's five.
        for n, customer in enumerate([None, None, "a", "b", "c"]):
            assert (await validate(strict, checkout, [f"X-{n}"], customer)).status_code == 200
        assert (await validate(strict, checkout, ["REAL-CODE"], "d")).status_code == 429
        assert (await validate(strict, checkout, ["REAL-CODE"], None)).status_code == 429

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
