"""Holds under a crowd, over real connections that commit: a limit is never promised twice,
and holds that lapse give all of it back."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.concurrency.test_redeem_races import scalar
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency

CART = cart(("item", 1, 5000))


async def post_all(
    client: AsyncClient, path: str, bodies: list[dict[str, Any]], key: dict[str, str]
) -> list[Response]:
    return await asyncio.gather(
        *(
            client.post(path, json=body, headers={**key, "Idempotency-Key": str(uuid.uuid4())})
            for body in bodies
        )
    )


async def uses(engine: AsyncEngine, code_id: uuid.UUID) -> int:
    used: int = await scalar(
        engine, "SELECT coalesce(sum(used), 0) FROM code_counters WHERE code_id = :id", id=code_id
    )
    return used


async def test_600_holds_on_a_code_limited_to_500_make_exactly_500(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    code = await committing_factory.code(
        await committing_factory.campaign(), "FIRST500", max_redemptions=500
    )
    bodies = [
        {"codes": ["FIRST500"], "cart": CART, "order_id": f"o-{i}", "customer": {"id": f"c{i}"}}
        for i in range(600)
    ]
    responses = await post_all(racing_client, "/v1/holds", bodies, key)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 500, 409: 100}, statuses
    assert {r.json()["status"] for r in responses if r.status_code == 201} == {"held"}
    reasons = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
    assert reasons == {"limit_reached"}
    assert await uses(engine, code.id) == 500
    held = await scalar(engine, "SELECT count(*) FROM redemptions WHERE status = 'held'")
    assert held == 500


async def test_lapsed_holds_lose_no_capacity_to_a_crowd_of_redeems(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    code = await committing_factory.code(
        await committing_factory.campaign(), "LAPSE50", max_redemptions=50
    )
    holds = [
        {"codes": ["LAPSE50"], "cart": CART, "order_id": f"h-{i}", "hold_seconds": 1}
        for i in range(50)
    ]
    held = await post_all(racing_client, "/v1/holds", holds, key)
    assert Counter(r.status_code for r in held) == {201: 50}
    await asyncio.sleep(1.2)

    redeems = [{"codes": ["LAPSE50"], "cart": CART} for _ in range(120)]
    responses = await post_all(racing_client, "/v1/redeem", redeems, key)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 50, 409: 70}, statuses
    assert await uses(engine, code.id) == 50
    lapsed = await scalar(engine, "SELECT count(*) FROM redemptions WHERE status = 'expired'")
    assert lapsed == 50


async def test_redeeming_and_releasing_one_hold_at_once_leaves_exactly_one_outcome(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    code = await committing_factory.code(
        await committing_factory.campaign(), "TUGOFWAR", max_redemptions=100
    )
    bodies = [{"codes": ["TUGOFWAR"], "cart": CART, "order_id": f"t-{i}"} for i in range(20)]
    held = await post_all(racing_client, "/v1/holds", bodies, key)
    ids = [r.json()["id"] for r in held]

    async def both(hold_id: str) -> tuple[Response, Response]:
        redeem, release = await asyncio.gather(
            racing_client.post(f"/v1/holds/{hold_id}/redeem", headers=key),
            racing_client.post(f"/v1/holds/{hold_id}/release", headers=key),
        )
        return redeem, release

    outcomes = await asyncio.gather(*(both(hold_id) for hold_id in ids))

    redeemed = 0
    for redeem, release in outcomes:
        assert {redeem.status_code, release.status_code} <= {200, 409}
        if redeem.status_code == 200:
            # Redeemed first: the release was refused; or released first: redeem refused.
            assert (release.status_code, release.json()["code"]) == (409, "hold_ended")
            redeemed += 1
        else:
            assert redeem.json()["code"] == "hold_ended"
            assert release.json()["status"] == "released"
    assert await uses(engine, code.id) == redeemed
    statuses = await scalar(
        engine,
        "SELECT count(*) FROM redemptions WHERE status IN ('succeeded', 'released')",
    )
    assert statuses == 20
