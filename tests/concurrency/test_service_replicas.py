"""Two replicas of the service (two `python -m app.serve` processes on one database, as compose
runs them behind its proxy): a request may land on either, and nothing one of them keeps in
memory changes what the other answers. Idempotent replays, limits, rollbacks and failed-guess
allowances hold across them (in `make test-pgbouncer`, through PgBouncer as well)."""

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from itertools import cycle

import httpx
import pytest

from app.domain.api_keys import Scope
from app.settings import Settings
from tests.factories import Factory, bearer, cart
from tests.integration.test_processes import ROOT, clean_env, free_port, wait_until_up

pytestmark = pytest.mark.concurrency

CART = cart(("shirt", 2, 2500))


@pytest.fixture
def replicas(settings: Settings) -> Iterator[list[str]]:
    """The base URLs of two service processes of one worker each."""
    env = clean_env(
        DATABASE_URL=settings.database_url,
        TESSERA_DB__POOLER=settings.db.pooler,
        TESSERA_DB__POOL_SIZE="5",
        TESSERA_LOG_LEVEL="warning",
    )
    servers: list[subprocess.Popen[str]] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "app.serve", "--port", str(port), "--workers", "1"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            servers.append(server)
            bases.append(f"http://127.0.0.1:{port}")
            wait_until_up(bases[-1], server)
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=60)


@pytest.fixture
async def clients(replicas: list[str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=replicas[0], timeout=30) as first,
        httpx.AsyncClient(base_url=replicas[1], timeout=30) as second,
    ):
        yield [first, second]


async def test_any_request_may_land_on_any_replica(
    clients: list[httpx.AsyncClient], committing_factory: Factory
) -> None:
    a, b = clients
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT, Scope.ADMIN))
    campaign = await a.post(
        "/v1/campaigns",
        json={"name": "Once", "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}]},
        headers=key,
    )
    assert campaign.status_code == 201, campaign.text
    code = await a.post(
        f"/v1/campaigns/{campaign.json()['id']}/codes",
        json={"code": "ONCE", "max_redemptions": 1},
        headers=key,
    )
    assert code.status_code == 201, code.text

    # Written through one, seen by the other at once.
    seen = await b.post("/v1/validate", json={"codes": ["ONCE"], "cart": CART}, headers=key)
    assert seen.json()["codes"][0]["valid"] is True, seen.text

    # One redeem, retried on the other replica with its key: the same answer, byte for byte.
    body = {"codes": ["ONCE"], "cart": CART, "customer": {"id": "cus_1"}, "order_id": "o-1"}
    idempotent = {**key, "Idempotency-Key": str(uuid.uuid4())}
    first = await a.post("/v1/redeem", json=body, headers=idempotent)
    assert first.status_code == 201, first.text
    retried = await b.post("/v1/redeem", json=body, headers=idempotent)
    assert (retried.status_code, retried.content) == (201, first.content)

    # The one use is gone on both.
    other = {**body, "customer": {"id": "cus_2"}, "order_id": "o-2"}
    for client in (a, b):
        refused = await client.post(
            "/v1/redeem", json=other, headers={**key, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["codes"][0]["reason"] == "limit_reached"

    # Rolled back on one, retried on the other: once.
    redemption = first.json()["id"]
    rolled = await b.post(f"/v1/redemptions/{redemption}/rollback", headers=key)
    again = await a.post(f"/v1/redemptions/{redemption}/rollback", headers=key)
    assert (rolled.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "rolled_back"
    back = await a.post("/v1/validate", json={"codes": ["ONCE"], "cart": CART}, headers=key)
    assert back.json()["codes"][0]["valid"] is True


async def test_failed_guesses_count_across_replicas(
    clients: list[httpx.AsyncClient], committing_factory: Factory, settings: Settings
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    allowance = settings.guesses.per_customer
    replica = cycle(clients)

    async def guess(n: int) -> httpx.Response:
        body = {"codes": [f"NOPE-{n}"], "cart": CART, "customer": {"id": "guesser"}}
        return await next(replica).post("/v1/validate", json=body, headers=key)

    answered = [await guess(n) for n in range(allowance)]
    assert {response.status_code for response in answered} == {200}
    # Whichever replica the next one lands on, the customer's allowance is used up.
    blocked = await asyncio.gather(guess(allowance), guess(allowance + 1))
    assert [r.status_code for r in blocked] == [429, 429]
    assert {r.json()["code"] for r in blocked} == {"too_many_failed_guesses"}
