"""Webhooks end to end: a receiver started by the test gets every event, signed; while it is
down the deliveries wait and are tried again; once it is back it gets the backlog, each event
once (and again only when replayed); two workers at once never send one twice."""

import asyncio
import hashlib
import hmac
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.db.engine import Database
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.services import webhooks
from app.worker import work_once
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What the README tells a receiver to check."""
    timestamp = headers["tessera-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest("v1=" + expected, headers["tessera-signature"])


@dataclass
class Receiver:
    """A tiny HTTP server: records each POST it gets and answers `status`."""

    secret: str = ""
    status: int = 200
    answer: bytes = b""
    content_type: str = "text/plain"
    hang: bool = False
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")[1:]
            headers = {
                name.lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.got.append((headers, body))
            if self.hang:
                await asyncio.sleep(3600)
            status_line = (
                f"HTTP/1.1 {self.status} X\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.answer)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(status_line.encode() + self.answer)
            await writer.drain()
        finally:
            writer.close()

    def events(self) -> list[dict[str, Any]]:
        assert all(verified(self.secret, headers, body) for headers, body in self.got)
        return [orjson.loads(body) for _, body in self.got]


ZERO = timedelta(0)


async def work_until(
    new_uow: Callable[[], UnitOfWork],
    client: httpx.AsyncClient,
    until: Callable[[], Awaitable[bool]],
    at: timedelta = ZERO,
) -> None:
    """Worker rounds (at the wall clock plus at) until `until` holds. The feed waits for every
    older transaction on the server, other tests' included: up to 20 s."""
    deadline = asyncio.get_running_loop().time() + 20
    while not await until():
        assert asyncio.get_running_loop().time() < deadline, "the worker never got there"
        if not await work_once(new_uow, client, utc_now() + at):
            await asyncio.sleep(0.05)


async def tried(receiver: Receiver, count: int) -> bool:
    return len(receiver.got) >= count


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiving = Receiver()
    await receiving.start()
    yield receiving
    if receiving.server is not None and receiving.server.is_serving():
        await receiving.stop()


async def test_a_receiver_gets_every_event_signed_and_the_backlog_after_being_down(
    racing_client: AsyncClient,
    committing_factory: Factory,
    engine: AsyncEngine,
    receiver: Receiver,
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    campaign = await committing_factory.campaign(name="Hooked")
    await committing_factory.code(campaign, "HOOKED")
    made = await racing_client.post(
        "/v1/webhook-endpoints",
        json={"url": f"http://127.0.0.1:{receiver.port}/hook", "types": ["redemption.created"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    receiver.secret = endpoint["secret"]
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async def redeem(n: int) -> list[str]:
        ids = []
        for i in range(n):
            response = await racing_client.post(
                "/v1/redeem",
                json={"codes": ["HOOKED"], "cart": cart(("a", 1, 1000 + i))},
                headers={**checkout, "Idempotency-Key": f"hook-{time.time_ns()}-{i}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids

    async def deliveries() -> list[dict[str, Any]]:
        log = await racing_client.get(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
        )
        found: list[dict[str, Any]] = log.json()["data"]
        return found

    first = await redeem(5)
    await racing_client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)  # not wanted
    await racing_client.post(f"/v1/campaigns/{campaign.id}/resume", headers=admin)
    async with httpx.AsyncClient() as client:

        async def drain(until: Callable[[], Awaitable[bool]], at: timedelta = ZERO) -> None:
            await work_until(new_uow, client, until, at)

        async def received(count: int) -> bool:
            return len(receiver.got) >= count

        # Two workers at once: each delivery is made once and sent once.
        await asyncio.gather(work_once(new_uow, client), work_once(new_uow, client))
        await drain(lambda: received(5))
        # Sent at once: in any order, each once.
        assert Counter(e["subject_id"] for e in receiver.events()) == Counter(first)
        assert {e["type"] for e in receiver.events()} == {"redemption.created"}

        await receiver.stop()
        second = await redeem(3)

        async def three_tried() -> bool:
            tried = [d for d in await deliveries() if d["status"] == "pending"]
            return len(tried) == 3 and all(d["attempts"] == 1 for d in tried)

        await drain(three_tried)
        waiting = [d for d in await deliveries() if d["status"] == "pending"]
        assert all(d["attempts"] == 1 and d["last_error"] for d in waiting)
        assert await work_once(new_uow, client) == 0  # not due yet: the backoff holds

        await receiver.start()  # back, on the same port
        await drain(lambda: received(8), at=timedelta(minutes=1))
        got = Counter(e["subject_id"] for e in receiver.events())
        assert got == Counter(first + second)
        log = await deliveries()
        assert Counter(d["status"] for d in log) == {"delivered": 8}

        replayed = await racing_client.post(
            f"/v1/webhook-deliveries/{log[0]['id']}/replay", headers=admin
        )
        assert replayed.json()["status"] == "pending"
        await drain(lambda: received(9))
        assert len(receiver.events()) == 9
        assert receiver.events()[-1]["id"] == log[0]["event_id"]

        # Disabled, its deliveries wait; enabled again, they go.
        url = f"/v1/webhook-endpoints/{endpoint['id']}"
        disabled = await racing_client.post(f"{url}/disable", headers=admin)
        assert disabled.json()["status"] == "disabled"
        third = await redeem(2)
        for _ in range(5):
            await work_once(new_uow, client)
        assert len(receiver.events()) == 9
        enabled = await racing_client.post(f"{url}/enable", headers=admin)
        assert enabled.json()["status"] == "active"
        await drain(lambda: received(11))
        assert Counter(e["subject_id"] for e in receiver.events()[9:]) == Counter(third)

    audit = await racing_client.get("/v1/audit-events", headers=admin)
    actions = [e["action"] for e in audit.json()["data"]]
    for action in (
        "webhook_endpoint.created",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_delivery.replayed",
    ):
        assert action in actions


async def test_a_failing_receiver_is_tried_with_backoff_then_given_up(
    racing_client: AsyncClient,
    committing_factory: Factory,
    engine: AsyncEngine,
    receiver: Receiver,
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    made = await racing_client.post(
        "/v1/webhook-endpoints",
        json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
        headers=admin,
    )
    endpoint = made.json()
    receiver.secret = endpoint["secret"]
    receiver.status = 503
    campaign = await committing_factory.campaign(name="Failing")
    await racing_client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async with httpx.AsyncClient() as client:
        await work_until(new_uow, client, lambda: tried(receiver, 1))
        now = utc_now()
        waits = []
        for _ in range(20):
            await work_once(new_uow, client, now)
            log = await racing_client.get(
                f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
            )
            [delivery] = log.json()["data"]
            if delivery["status"] == "failed":
                break
            next_at = delivery["next_attempt_at"]
            waits.append(next_at)
            now = datetime.fromisoformat(next_at) + timedelta(seconds=1)
    assert delivery["status"] == "failed"
    assert (delivery["attempts"], delivery["last_status"]) == (12, 503)
    assert len(receiver.events()) == 12
    assert len(set(waits)) == len(waits) == 11


async def test_a_hostile_or_silent_receiver_fails_its_delivery_not_the_worker(
    racing_client: AsyncClient,
    committing_factory: Factory,
    engine: AsyncEngine,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    made = await racing_client.post(
        "/v1/webhook-endpoints",
        json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
        headers=admin,
    )
    endpoint = made.json()
    receiver.secret = endpoint["secret"]
    # A refusal whose body cannot be decoded as its charset says.
    receiver.status, receiver.content_type = 500, "text/plain; charset=unicode_escape"
    receiver.answer = b"bad \\ud800 body"
    campaign = await committing_factory.campaign(name="Hostile")
    await racing_client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async def log() -> dict[str, Any]:
        listed = await racing_client.get(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
        )
        [delivery] = listed.json()["data"]
        result: dict[str, Any] = delivery
        return result

    async with httpx.AsyncClient() as client:
        await work_until(new_uow, client, lambda: tried(receiver, 1))
        first = await log()
        assert (first["status"], first["last_status"]) == ("pending", 500)
        assert first["last_error"].startswith("HTTP 500: bad")

        receiver.hang = True
        monkeypatch.setattr("app.services.webhooks.SEND_LIMIT", timedelta(seconds=1))
        await work_once(new_uow, client, utc_now() + timedelta(minutes=5))
        second = await log()
        assert (second["attempts"], second["last_status"]) == (2, None)
        assert second["last_error"] == "No answer within 1 s."


async def test_an_attempt_replayed_meanwhile_does_not_record_its_outcome(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    made = await racing_client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=admin
    )
    campaign = await committing_factory.campaign(name="Replayed")
    await racing_client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
    database = Database.on(engine)
    now = utc_now()
    deadline = asyncio.get_running_loop().time() + 20
    while not await webhooks.fan_out(UnitOfWork(database.sessions), now):
        assert asyncio.get_running_loop().time() < deadline, "the event never came"
        await asyncio.sleep(0.05)
    uow = UnitOfWork(database.sessions)
    async with uow:
        [claimed] = await uow.webhooks.claim_due(now, now + timedelta(minutes=2), 10)
        await uow.commit()
    listed = await racing_client.get(
        f"/v1/webhook-endpoints/{made.json()['id']}/deliveries", headers=admin
    )
    replayed = await racing_client.post(
        f"/v1/webhook-deliveries/{listed.json()['data'][0]['id']}/replay", headers=admin
    )
    assert replayed.json()["attempts"] == 0
    uow = UnitOfWork(database.sessions)
    async with uow:  # the first attempt comes back, failed, after the replay
        await uow.webhooks.record_attempt(
            claimed.id,
            claimed.claim,
            status="failed",
            next_attempt_at=None,
            last_status=500,
            last_error="late",
            delivered_at=None,
        )
        await uow.commit()
    after = await racing_client.get(
        f"/v1/webhook-endpoints/{made.json()['id']}/deliveries", headers=admin
    )
    delivery = after.json()["data"][0]
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == (
        "pending",
        0,
        None,
    )
