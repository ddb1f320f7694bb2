"""Expired idempotency keys, ended failed-guess windows, old events and old finished jobs are
purged; live ones stay."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.deps import request_time
from tests.factories import Factory, cart


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment

    async def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clock(app: FastAPI, connection: AsyncConnection) -> Clock:
    # Rows get the database's now(): the test transaction's start, which is about now.
    started = (await connection.execute(text("SELECT now()"))).scalar_one()
    assert isinstance(started, datetime)
    clock = Clock(started.astimezone(UTC))
    app.dependency_overrides[request_time] = clock
    return clock


async def purge(client: AsyncClient, admin: dict[str, str]) -> dict[str, int]:
    response = await client.post("/v1/purge-runs", headers=admin)
    assert response.status_code == 200, response.text
    counts: dict[str, int] = response.json()
    return counts


class TestPurges:
    async def test_idempotency_keys_go_after_their_lifetime(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
        clock: Clock,
    ) -> None:
        await factory.code(await factory.campaign(), "PURGE-ME", max_redemptions=5)
        body = {"codes": ["PURGE-ME"], "cart": cart(("a", 1, 1000))}
        headers = {**checkout, "Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/v1/redeem", json=body, headers=headers)
        assert first.status_code == 201

        clock.now += timedelta(hours=23)
        assert (await purge(client, admin))["idempotency_keys"] == 0
        replay = await client.post("/v1/redeem", json=body, headers=headers)
        assert replay.headers["idempotent-replayed"] == "true"

        clock.now += timedelta(hours=2)
        assert (await purge(client, admin))["idempotency_keys"] == 1
        assert (await purge(client, admin))["idempotency_keys"] == 0
        again = await client.post("/v1/redeem", json=body, headers=headers)
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["id"] != first.json()["id"]

    async def test_guess_windows_go_once_they_have_ended(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        connection: AsyncConnection,
        clock: Clock,
    ) -> None:
        guess = {"codes": ["NO-SUCH"], "customer": {"id": "mallory"}, "cart": cart(("a", 1, 1))}
        for _ in range(10):  # the customer's whole allowance: blocked to the window's end
            await client.post("/v1/validate", json=guess, headers=checkout)
        clock.now += timedelta(minutes=9)
        assert (await purge(client, admin))["guess_windows"] == 0
        clock.now += timedelta(minutes=2)
        # customer, unaddressed (per key) and the key's alarm
        assert (await purge(client, admin))["guess_windows"] == 3
        left = await connection.execute(text("SELECT count(*) FROM guess_failures"))
        assert left.scalar_one() == 0

    async def test_events_go_after_30_days_with_their_deliveries(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
        connection: AsyncConnection,
        clock: Clock,
    ) -> None:
        hooked = await client.post(
            "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=admin
        )
        assert hooked.status_code == 201, hooked.text
        await factory.code(await factory.campaign(), "EVENTFUL")
        body = {"codes": ["EVENTFUL"], "cart": cart(("a", 1, 1000))}
        headers = {**checkout, "Idempotency-Key": str(uuid.uuid4())}
        assert (await client.post("/v1/redeem", json=body, headers=headers)).status_code == 201
        count = text("SELECT count(*) FROM events")
        events = (await connection.execute(count)).scalar_one()
        assert events >= 1
        await connection.execute(
            text(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, next_attempt_at)"
                " SELECT :endpoint, id, now() FROM events"
            ),
            {"endpoint": hooked.json()["id"]},
        )
        clock.now += timedelta(days=29)
        assert (await purge(client, admin))["events"] == 0
        clock.now += timedelta(days=2)
        assert (await purge(client, admin))["events"] == events
        assert (await connection.execute(count)).scalar_one() == 0
        left = await connection.execute(text("SELECT count(*) FROM webhook_deliveries"))
        assert left.scalar_one() == 0

    async def test_finished_jobs_go_after_a_week_and_live_ones_stay(
        self, client: AsyncClient, admin: dict[str, str], connection: AsyncConnection, clock: Clock
    ) -> None:
        await connection.execute(
            text(
                "INSERT INTO jobs (kind, status, attempts, finished_at) VALUES"
                " ('purge', 'succeeded', 1, now()), ('purge', 'failed', 5, now()),"
                " ('purge', 'queued', 0, NULL)"
            )
        )
        clock.now += timedelta(days=6)
        assert (await purge(client, admin))["jobs"] == 0
        clock.now += timedelta(days=2)
        assert (await purge(client, admin))["jobs"] == 2
        left = await connection.execute(text("SELECT status FROM jobs"))
        assert left.scalars().all() == ["queued"]
