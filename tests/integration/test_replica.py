"""The read replica (TESSERA_READ_DATABASE_URL), against a real streaming replica of a real
primary (tests/replica.py): validate, qualifications, balances and listings read from it, every
write stays on the primary, and a validate that reads a replica behind the primary can never
make a redeem over-redeem, since redeem decides on the primary."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.api.deps import get_database
from app.db.engine import Database, create_engine, create_sessionmaker
from app.domain.api_keys import Scope
from app.main import create_app
from app.settings import DatabaseSettings, Settings
from tests.conftest import migrate
from tests.factories import Factory, bearer, cart
from tests.replica import StreamingPair

pytestmark = pytest.mark.concurrency

DATABASE = "tessera"
CART = cart(("shirt", 1, 5000))


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    pair = StreamingPair()
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _caught_up(primary_url: str, replica_url: str) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(_dsn(primary_url))
    replica = await asyncpg.connect(_dsn(replica_url))
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        lagging = "SELECT pg_last_wal_replay_lsn() < CAST($1::text AS pg_lsn)"
        async with asyncio.timeout(10):
            while await replica.fetchval(lagging, target):  # noqa: ASYNC110  (polls a server)
                await asyncio.sleep(0.02)
    finally:
        await primary.close()
        await replica.close()


@dataclass
class Service:
    http: AsyncClient
    factory: Factory
    primary_url: str
    replica_url: str

    async def caught_up(self) -> None:
        await _caught_up(self.primary_url, self.replica_url)

    async def replay(self, *, paused: bool) -> None:
        replica = await asyncpg.connect(_dsn(self.replica_url))
        try:
            await replica.execute(
                "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"
            )
        finally:
            await replica.close()


@pytest.fixture(scope="module")
def urls(pair: StreamingPair) -> tuple[str, str]:
    async def create() -> None:
        admin = await asyncpg.connect(_dsn(pair.primary_url("postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await admin.close()

    asyncio.run(create())
    primary = Settings(database_url=pair.primary_url(DATABASE)).database_url
    migrate(primary)
    replica = Settings(database_url=pair.replica_url(DATABASE)).database_url
    asyncio.run(_caught_up(primary, replica))
    return primary, replica


@pytest.fixture
async def service(urls: tuple[str, str]) -> AsyncIterator[Service]:
    primary_url, replica_url = urls
    settings = Settings(
        database_url=primary_url,
        read_database_url=replica_url,
        log_level="warning",
        db=DatabaseSettings(pool_size=5),
    )
    assert settings.read_database_url is not None
    primary = create_engine(settings)
    replica = create_engine(settings, settings.read_database_url)
    database = Database.on(primary, replica)
    app: FastAPI = create_app(settings)
    app.dependency_overrides[get_database] = lambda: database
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            yield Service(http, Factory(create_sessionmaker(primary)), primary_url, replica_url)
    finally:
        await primary.dispose()
        await replica.dispose()


async def test_the_replica_is_a_hot_standby_that_refuses_writes(urls: tuple[str, str]) -> None:
    replica = await asyncpg.connect(_dsn(urls[1]))
    try:
        assert await replica.fetchval("SELECT pg_is_in_recovery()") is True
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await replica.execute("DELETE FROM campaigns")
    finally:
        await replica.close()


async def test_validate_reads_the_replica_and_redeem_decides_on_the_primary(
    service: Service,
) -> None:
    checkout = bearer(await service.factory.api_key(Scope.CHECKOUT, Scope.ADMIN))
    campaign = await service.factory.campaign()
    name = f"LAST-{uuid.uuid4().hex[:8]}"
    await service.factory.code(campaign, name, max_redemptions=1)
    await service.caught_up()
    body = {"codes": [name], "cart": CART, "customer": {"id": "cus_1"}}
    first = await service.http.post("/v1/validate", json=body, headers=checkout)
    assert first.status_code == 200, first.text
    assert first.json()["codes"][0]["valid"] is True

    # The replica stops replaying: what the primary writes now, it does not see.
    await service.replay(paused=True)
    try:
        redeemed = await service.http.post(
            "/v1/redeem",
            json={**body, "order_id": "order-1"},
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert redeemed.status_code == 201, redeemed.text

        # validate reads the replica, which has not seen the redeem: still applies.
        stale = await service.http.post(
            "/v1/validate", json={**body, "customer": {"id": "cus_2"}}, headers=checkout
        )
        assert stale.status_code == 200, stale.text
        assert stale.json()["codes"][0]["valid"] is True

        # Redeem decides on the primary: the one use is gone, whatever validate said.
        again = await service.http.post(
            "/v1/redeem",
            json={**body, "customer": {"id": "cus_2"}, "order_id": "order-2"},
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert again.status_code == 409, again.text
        assert again.json()["codes"][0]["reason"] == "limit_reached"

        # A listing reads the replica too: the redemption is not there yet.
        listed = await service.http.get(
            "/v1/redemptions", params={"customer_id": "cus_1"}, headers=checkout
        )
        assert listed.status_code == 200, listed.text
        assert listed.json()["data"] == []
    finally:
        await service.replay(paused=False)

    await service.caught_up()
    fresh = await service.http.post(
        "/v1/validate", json={**body, "customer": {"id": "cus_2"}}, headers=checkout
    )
    assert fresh.json()["codes"][0]["valid"] is False
    assert fresh.json()["codes"][0]["reason"] == "limit_reached"
    listed = await service.http.get(
        "/v1/redemptions", params={"customer_id": "cus_1"}, headers=checkout
    )
    assert [r["order_id"] for r in listed.json()["data"]] == ["order-1"]


async def test_what_validate_writes_or_refuses_it_decides_on_the_primary(
    service: Service,
) -> None:
    admin = bearer(await service.factory.api_key(Scope.ADMIN))
    created = await service.http.post(
        "/v1/api-keys", json={"name": "till", "scopes": ["checkout"]}, headers=admin
    )
    checkout = bearer(created.json()["key"])
    campaign = await service.factory.campaign()
    await service.caught_up()
    await service.replay(paused=True)
    try:
        # A code made after the replica stopped: not a failed guess, not an unknown code.
        name = f"NEW-{uuid.uuid4().hex[:8]}"
        await service.factory.code(campaign, name)
        body = {"codes": [name], "cart": CART, "customer": {"id": "cus_new"}}
        fresh = await service.http.post("/v1/validate", json=body, headers=checkout)
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["codes"][0]["valid"] is True
        logged = await service.http.get("/v1/customers/cus_new/verdicts", headers=admin)
        assert logged.json()["data"] == []

        # A key revoked after the replica stopped: refused at once.
        revoked = await service.http.delete(f"/v1/api-keys/{created.json()['id']}", headers=admin)
        assert revoked.status_code == 200, revoked.text
        refused = await service.http.post("/v1/validate", json=body, headers=checkout)
        assert refused.status_code == 401, refused.text
    finally:
        await service.replay(paused=False)


async def test_a_replica_that_gives_no_connection_leaves_the_reads_to_the_primary(
    urls: tuple[str, str],
) -> None:
    primary_url, _ = urls
    # A replica nobody listens for: every connection to it is refused.
    gone = "postgresql://postgres@127.0.0.1:9/tessera"
    settings = Settings(database_url=primary_url, read_database_url=gone, log_level="error")
    assert settings.read_database_url is not None
    primary = create_engine(settings)
    replica = create_engine(settings, settings.read_database_url)
    database = Database.on(primary, replica)
    app: FastAPI = create_app(settings)
    app.dependency_overrides[get_database] = lambda: database
    factory = Factory(create_sessionmaker(primary))
    key = bearer(await factory.api_key(Scope.CHECKOUT, Scope.ADMIN))
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            body = {"codes": [], "cart": CART}
            validated = await http.post("/v1/validate", json=body, headers=key)
            assert validated.status_code == 200, validated.text
            qualified = await http.post("/v1/qualifications", json={"cart": CART}, headers=key)
            assert qualified.status_code == 200, qualified.text
            listed = await http.get("/v1/campaigns", headers=key)
            assert listed.status_code == 200, listed.text
        assert database.route is not None
        assert not database.route.usable()
    finally:
        await primary.dispose()
        await replica.dispose()


async def test_readiness_and_writes_go_to_the_primary_while_the_replica_is_paused(
    service: Service,
) -> None:
    admin = bearer(await service.factory.api_key(Scope.ADMIN))
    await service.caught_up()
    await service.replay(paused=True)
    try:
        created = await service.http.post(
            "/v1/campaigns",
            json={
                "name": "Made on the primary",
                "effects": [{"type": "percent_off", "basis_points": 1000}],
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        # A single campaign is read from the primary: what was just written is there.
        fetched = await service.http.get(f"/v1/campaigns/{created.json()['id']}", headers=admin)
        assert fetched.status_code == 200, fetched.text
        assert (await service.http.get("/readyz")).status_code == 200
    finally:
        await service.replay(paused=False)
