"""A database that stops answering (its processes frozen, as by SIGSTOP) must cost a request a
few seconds, not minutes: every request gets a 503 problem with Retry-After within its
deadlines, /readyz answers within its own, and all is well again once the database thaws. The
deadlines are shortened here so the test is quick; each wait is bounded well above them, so
that what fails is a missing deadline, never a slow machine."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.engine import make_url

from app.api.deps import get_database
from app.db.engine import Database, create_engine
from app.domain.api_keys import Scope
from app.main import create_app
from app.services import health
from app.settings import DatabaseSettings, Settings
from tests.factories import Factory, bearer, cart
from tests.faults import FreezableProxy

pytestmark = pytest.mark.concurrency

DEADLINES = DatabaseSettings(
    pool_size=4,
    statement_timeout_ms=300,
    connect_timeout_ms=300,
    pool_timeout_ms=300,
    command_timeout_ms=400,
    ready_timeout_ms=300,
)
# Far above any sum of the deadlines above, far below "waits for the database forever".
BOUND_S = 5.0
CART = cart(("shirt", 2, 1999))


@pytest.fixture
async def proxy(server_url: str) -> AsyncIterator[FreezableProxy]:
    proxy = FreezableProxy(server_url)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def frozen_client(settings: Settings, proxy: FreezableProxy) -> AsyncIterator[AsyncClient]:
    """The service on its own engine, reaching the test database through the proxy."""
    database_name = make_url(settings.database_url).database
    assert database_name is not None
    own = Settings(database_url=proxy.url(database_name), log_level="error", db=DEADLINES)
    engine = create_engine(own)
    app: FastAPI = create_app(own)
    database = Database.on(engine)
    app.dependency_overrides[get_database] = lambda: database
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            yield http
    finally:
        proxy.thaw()
        await engine.dispose()


async def _timed(call: Any) -> tuple[Response, float]:
    started = time.monotonic()
    response: Response = await asyncio.wait_for(call, timeout=BOUND_S * 3)
    return response, time.monotonic() - started


def _assert_unavailable(response: Response, took: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("Retry-After"), response.text
    problem = response.json()
    assert problem["code"] == "service_unavailable"
    assert "Nothing was changed" not in problem["detail"]
    assert took < BOUND_S, f"answered after {took:.1f} s"


async def test_a_frozen_database_fails_fast_and_recovers(
    frozen_client: AsyncClient,
    proxy: FreezableProxy,
    committing_factory: Factory,
) -> None:
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin_key = bearer(await committing_factory.api_key(Scope.ADMIN))
    campaign = await committing_factory.campaign()
    code = await committing_factory.code(campaign, "FROZEN", max_redemptions=1)
    # Warm the pool, so that requests meet established connections that stop answering.
    assert (await frozen_client.get("/readyz")).status_code == 200
    warm = [
        frozen_client.post(
            "/v1/validate", json={"codes": ["FROZEN"], "cart": CART}, headers=checkout
        )
        for _ in range(4)
    ]
    assert {r.status_code for r in await asyncio.gather(*warm)} == {200}

    proxy.freeze()
    redeem_key = {**checkout, "Idempotency-Key": str(uuid.uuid4())}
    redeem_body = {"codes": ["FROZEN"], "cart": CART, "order_id": "frozen-1"}
    calls = [
        frozen_client.post(
            "/v1/validate", json={"codes": ["FROZEN"], "cart": CART}, headers=checkout
        ),
        frozen_client.post("/v1/redeem", json=redeem_body, headers=redeem_key),
        frozen_client.get(f"/v1/codes/{code.id}", headers=admin_key),
        # More requests than pooled connections: some wait for a connection, too.
        *(frozen_client.get("/v1/campaigns", headers=admin_key) for _ in range(6)),
    ]
    for response, took in await asyncio.gather(*map(_timed, calls)):
        _assert_unavailable(response, took)
    # Probes answer within their own deadline, however many arrive.
    probes = await asyncio.gather(*(_timed(frozen_client.get("/readyz")) for _ in range(5)))
    for response, took in probes:
        _assert_unavailable(response, took)

    proxy.thaw()
    ready = await frozen_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert (await frozen_client.get("/v1/campaigns", headers=admin_key)).status_code == 200
    # The redeem that was cut off may or may not have committed; retried with its key it
    # takes effect exactly once.
    retried = await frozen_client.post("/v1/redeem", json=redeem_body, headers=redeem_key)
    assert retried.status_code == 201, retried.text
    counted = await frozen_client.get(f"/v1/codes/{code.id}", headers=admin_key)
    assert counted.json()["redemption_count"] == 1


async def test_readiness_answers_while_connecting_hangs(
    frozen_client: AsyncClient, proxy: FreezableProxy
) -> None:
    """No connection opened yet: the first connect is what hangs."""
    proxy.freeze()
    response, took = await _timed(frozen_client.get("/readyz"))
    _assert_unavailable(response, took)


async def test_readiness_keeps_its_own_deadline_and_runs_one_check_at_a_time(
    settings: Settings, proxy: FreezableProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Database deadlines ten times longer than readiness's: the probe's own deadline answers,
    and probes that arrive together share one check (one connection) instead of each opening
    one on a stalled database."""
    database_name = make_url(settings.database_url).database
    assert database_name is not None
    slow = DEADLINES.model_copy(
        update={
            "connect_timeout_ms": 3_000,
            "pool_timeout_ms": 3_000,
            "command_timeout_ms": 3_000,
            "ready_timeout_ms": 300,
        }
    )
    own = Settings(database_url=proxy.url(database_name), log_level="error", db=slow)
    engine = create_engine(own)
    app = create_app(own)
    database = Database.on(engine)
    app.dependency_overrides[get_database] = lambda: database
    started = 0
    check = health._look

    async def counted(uow: Any, expected: Any) -> Any:
        nonlocal started
        started += 1
        return await check(uow, expected)

    monkeypatch.setattr(health, "_look", counted)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            proxy.freeze()
            probes = await asyncio.gather(*(_timed(http.get("/readyz")) for _ in range(5)))
            for response, took in probes:
                _assert_unavailable(response, took)
                assert took < 1.5, f"the probe waited for the database's deadline: {took:.1f} s"
            assert started == 1
    finally:
        proxy.thaw()
        await engine.dispose()
