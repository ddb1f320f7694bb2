"""Failed-guess allowances hold however requests are timed: requests that pass the block check
together are answered only while the allowance lasts, counted in the order PostgreSQL takes
their counter rows; the rest get 429, never an answer."""

import asyncio
import uuid

import pytest
from httpx import AsyncClient

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency

CART = cart(("shirt", 1, 4000))


async def test_concurrent_guesses_from_one_address_stop_at_its_allowance(
    racing_client: AsyncClient, committing_factory: Factory
) -> None:
    """The default allowance of an address is 50: requests of 10 unknown codes each, all at
    once, each under a fresh customer id. Exactly 5 are answered."""
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))

    async def guess(n: int) -> int:
        body = {
            "codes": [f"RACE-{n}-{i}" for i in range(10)],
            "customer": {"id": f"bot-{n}"},
            "client_ip": "198.51.100.77",
            "cart": CART,
        }
        response = await racing_client.post("/v1/validate", json=body, headers=checkout)
        return response.status_code

    statuses = await asyncio.gather(*(guess(n) for n in range(40)))
    assert statuses.count(200) == 5
    assert statuses.count(429) == 35


async def test_concurrent_redeems_and_lookups_share_one_allowance(
    racing_client: AsyncClient, committing_factory: Factory
) -> None:
    """One customer (allowance 10) tries unknown codes at redeem and gift-card lookups at once:
    10 guesses are answered in all, whichever way they came."""
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))

    async def redeem(n: int) -> int:
        body = {"codes": [f"NOPE-{n}"], "customer": {"id": "mallory"}, "cart": CART}
        headers = {**checkout, "Idempotency-Key": str(uuid.uuid4())}
        return (await racing_client.post("/v1/redeem", json=body, headers=headers)).status_code

    async def look_up(n: int) -> int:
        body = {"code": f"GIFT{n:012d}", "customer_id": "mallory"}
        response = await racing_client.post("/v1/gift-cards/lookup", json=body, headers=checkout)
        return response.status_code

    statuses = await asyncio.gather(
        *(redeem(n) for n in range(30)), *(look_up(n) for n in range(30))
    )
    answered = [s for s in statuses if s != 429]
    assert len(answered) == 10, statuses
    assert set(answered) <= {404, 409}
