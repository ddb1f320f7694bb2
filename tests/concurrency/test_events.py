"""The event feed over real connections that commit: each change writes its event in its own
transaction, and a consumer that keeps its cursor sees every event exactly once, in an order
that never puts an event before one it has already read, even while writers commit out of
order."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.concurrency.test_redeem_races import fire
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency


async def read_all(
    client: AsyncClient, admin: dict[str, str], after: str | None = None, **query: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """Every event the feed gives after the cursor, page by page, and the cursor to keep."""
    seen: list[dict[str, Any]] = []
    while True:
        params = {"limit": 7, **query} | ({"after": after} if after else {})
        page = await client.get("/v1/events", params=params, headers=admin)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += body["data"]
        if not body["data"]:
            return seen, body["next_cursor"]
        after = body["next_cursor"]


async def read_at_least(
    client: AsyncClient, admin: dict[str, str], after: str | None, count: int, **query: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """The events after the cursor once there are at least count of them (the feed waits for
    every older transaction on the server, other tests' included: give it up to 20 s)."""
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        page, after_page = await read_all(client, admin, after, **query)
        seen += page
        after = after_page
        if len(seen) >= count or asyncio.get_running_loop().time() > deadline:
            return seen, after
        await asyncio.sleep(0.05)


async def test_the_checkout_s_changes_are_events_in_the_feed(
    racing_client: AsyncClient, committing_factory: Factory
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    campaign = await committing_factory.campaign(name="Evented")
    await committing_factory.code(campaign, "EVENTS")
    _, start = await read_all(racing_client, admin)

    body = {"codes": ["EVENTS"], "order_id": "o-1", "cart": cart(("a", 2, 1000))}
    redeemed = await racing_client.post(
        "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "k-1"}
    )
    assert redeemed.status_code == 201, redeemed.text
    url = f"/v1/redemptions/{redeemed.json()['id']}"
    returned = await racing_client.post(
        f"{url}/returns",
        json={"lines": [{"sku": "a", "quantity": 1}]},
        headers={**checkout, "Idempotency-Key": "k-2"},
    )
    assert returned.status_code == 201, returned.text
    assert (await racing_client.post(f"{url}/rollback", headers=checkout)).status_code == 200
    paused = await racing_client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
    assert paused.status_code == 200, paused.text

    events, cursor = await read_at_least(racing_client, admin, start, 4)
    assert [e["type"] for e in events] == [
        "redemption.created",
        "redemption.returned",
        "redemption.rolled_back",
        "campaign.paused",
    ]
    created = events[0]
    assert created["subject_id"] == redeemed.json()["id"]
    assert created["data"]["order_id"] == "o-1"
    assert created["data"]["total_amount"] == 1800
    assert created["data"]["promotions"] == [
        {"campaign_id": str(campaign.id), "code": "EVENTS", "discount_amount": 200}
    ]
    assert events[1]["data"]["total_amount"] == 900
    # Nothing new: the cursor stays, and reading from it again gives nothing.
    assert await read_all(racing_client, admin, cursor) == ([], cursor)
    only, _ = await read_at_least(
        racing_client, admin, start, 2, types=["redemption.rolled_back", "campaign.paused"]
    )
    assert [e["type"] for e in only] == [
        "redemption.rolled_back",
        "campaign.paused",
    ]
    bad = await racing_client.get("/v1/events", params={"after": "nope"}, headers=admin)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    forbidden = await racing_client.get("/v1/events", headers=checkout)
    assert forbidden.status_code == 403


async def test_an_event_committed_late_is_not_skipped(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    """Transaction A writes first (the lower txid and id) and commits last: until it does, the
    feed stops before B's event too, and then lists A's, then B's."""
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    campaign = await committing_factory.campaign(name="Late")
    _, start = await read_all(racing_client, admin)
    pause = text("UPDATE campaigns SET status = :status WHERE id = :id")
    async with engine.connect() as first, engine.connect() as second:
        a = await first.begin()
        await first.execute(pause, {"status": "paused", "id": campaign.id})
        b = await second.begin()
        other = await committing_factory.campaign(name="Early")
        await second.execute(pause, {"status": "paused", "id": other.id})
        await b.commit()
        assert await read_all(racing_client, admin, start) == ([], start)
        await a.commit()
    events, _ = await read_at_least(racing_client, admin, start, 2)
    assert [(e["type"], e["subject_id"]) for e in events] == [
        ("campaign.paused", str(campaign.id)),
        ("campaign.paused", str(other.id)),
    ]


async def test_a_consumer_polling_during_a_crowd_sees_each_event_once(
    racing_client: AsyncClient, committing_factory: Factory
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    campaign = await committing_factory.campaign(name="Crowd")
    for i in range(5):
        await committing_factory.code(campaign, f"CROWD-{i}")
    _, cursor = await read_all(racing_client, admin)
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def consume() -> None:
        nonlocal cursor
        while True:
            finished = done.is_set()
            page, cursor = await read_all(racing_client, admin, cursor)
            seen.extend(page)
            if finished:
                return
            await asyncio.sleep(0.01)

    consumer = asyncio.ensure_future(consume())
    requests = [
        (
            {"codes": [f"CROWD-{i % 5}"], "cart": cart(("a", 1, 1000 + i))},
            {**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(150)
    ]
    responses = await fire(racing_client, requests)
    assert Counter(r.status_code for r in responses) == {201: 150}
    rolled = await asyncio.gather(
        *(
            racing_client.post(f"/v1/redemptions/{r.json()['id']}/rollback", headers=checkout)
            for r in responses[:40]
        )
    )
    assert {r.status_code for r in rolled} == {200}
    done.set()
    await consumer
    # What other transactions on the server still held back when it stopped.
    expected = len(responses) + 40
    late, cursor = await read_at_least(racing_client, admin, cursor, expected - len(seen))
    seen.extend(late)

    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was listed twice"
    created = Counter(e["subject_id"] for e in seen if e["type"] == "redemption.created")
    assert created == Counter({r.json()["id"]: 1 for r in responses})
    undone = {e["subject_id"] for e in seen if e["type"] == "redemption.rolled_back"}
    assert undone == {r.json()["id"] for r in responses[:40]}
    # Feed order: a redemption's rollback never before its creation.
    position = {(e["type"], e["subject_id"]): n for n, e in enumerate(seen)}
    for r in responses[:40]:
        redemption = r.json()["id"]
        assert (
            position[("redemption.created", redemption)]
            < position[("redemption.rolled_back", redemption)]
        )


async def test_points_about_to_expire_are_announced_once(
    racing_client: AsyncClient, committing_factory: Factory
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    program = await racing_client.post(
        "/v1/loyalty/programs",
        json={
            "name": "Expiring",
            "currency": "EUR",
            "earn_rate": {"points": 1, "per_amount": 100},
            "expiry_days": 10,
        },
        headers=admin,
    )
    assert program.status_code == 201, program.text
    program_id = program.json()["id"]
    for customer, amount in (("ann", 5000), ("bob", 2000)):
        earned = await racing_client.post(
            f"/v1/loyalty/programs/{program_id}/earnings",
            json={
                "customer_id": customer,
                "order_id": f"o-{customer}",
                "amount": amount,
                "currency": "EUR",
            },
            headers=checkout,
        )
        assert earned.status_code == 201, earned.text
    _, start = await read_all(racing_client, admin)

    async def announce(days: int) -> Any:
        run = await racing_client.post(
            "/v1/expiry-notice-runs", json={"within_days": days}, headers=admin
        )
        assert run.status_code == 200, run.text
        return run.json()

    assert await announce(7) == {"members": 0, "points": 0}  # they expire in 10 days
    both = await asyncio.gather(announce(11), announce(11))  # at once: each lot once
    assert (sum(r["members"] for r in both), sum(r["points"] for r in both)) == (2, 70)
    assert await announce(30) == {"members": 0, "points": 0}
    events, _ = await read_at_least(racing_client, admin, start, 2, types=["points.expiring"])
    assert sorted((e["data"]["customer_id"], e["data"]["points"]) for e in events) == [
        ("ann", 50),
        ("bob", 20),
    ]
