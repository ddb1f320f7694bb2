"""Why a customer's code did not work: their refused codes, as support sees them."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer, cart

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
async def support(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.SUPPORT, name="agent"))


@pytest.fixture
def clock(clock_from: Callable[[datetime], list[datetime]]) -> list[datetime]:
    return clock_from(START)


async def test_support_sees_each_refused_code_newest_first_with_its_message(
    client: AsyncClient,
    checkout: dict[str, str],
    support: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    campaign = await factory.campaign()
    await factory.code(campaign, "ONCE", max_redemptions=1)
    await factory.code(campaign, "BOBS", customer_id="bob")
    body: dict[str, Any] = {"cart": cart(("item", 1, 5000)), "customer": {"id": "ann"}}
    redeemed = await client.post(
        "/v1/redeem",
        json={**body, "codes": ["ONCE"]},
        headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert redeemed.status_code == 201
    clock[0] = START + timedelta(minutes=1)
    await client.post("/v1/validate", json={**body, "codes": ["BOBS", "tYpO"]}, headers=checkout)
    clock[0] = START + timedelta(minutes=2)
    await client.post(
        "/v1/redeem",
        json={**body, "codes": ["ONCE"]},
        headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
    )
    # Anonymous requests are nobody's: not logged.
    await client.post("/v1/validate", json={"cart": body["cart"], "codes": ["X"]}, headers=checkout)

    page = await client.get("/v1/customers/ann/verdicts", headers=support)
    assert page.status_code == 200, page.text
    seen = [(v["source"], v["code"], v["reason"]) for v in page.json()["data"]]
    assert seen[0] == ("redeem", "ONCE", "limit_reached")
    # One request's verdicts share their time: their order among themselves is by id.
    assert sorted(seen[1:]) == [
        ("validate", "BOBS", "customer_mismatch"),
        ("validate", "tYpO", "not_found"),
    ]
    first = page.json()["data"][0]
    assert (first["message"], first["campaign_id"]) == (
        "This offer has been used up.",
        str(campaign.id),
    )
    two = await client.get("/v1/customers/ann/verdicts", params={"limit": 2}, headers=support)
    rest = await client.get(
        "/v1/customers/ann/verdicts",
        params={"limit": 2, "cursor": two.json()["next_cursor"]},
        headers=support,
    )
    assert len(two.json()["data"]) + len(rest.json()["data"]) == 3
    assert (await client.get("/v1/customers/ann/verdicts", headers=checkout)).status_code == 403
    assert (await client.get("/v1/customers/bob/verdicts", headers=support)).json()["data"] == []


async def test_the_purge_forgets_them_after_30_days(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    clock: list[datetime],
) -> None:
    body = {"cart": cart(("item", 1, 5000)), "customer": {"id": "cat"}, "codes": ["NOPE"]}
    await client.post("/v1/validate", json=body, headers=checkout)
    clock[0] = START + timedelta(days=31)
    run = await client.post("/v1/purge-runs", headers=admin)
    assert run.json()["verdicts"] >= 1
    assert (await client.get("/v1/customers/cat/verdicts", headers=admin)).json()["data"] == []
