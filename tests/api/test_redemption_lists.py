"""Redemptions listed by order, customer, code or campaign: newest first, as they are now."""

from typing import Any

from httpx import AsyncClient

from app.domain.api_keys import Scope
from tests.api.test_checkout import redeem
from tests.factories import Factory, bearer


async def listed(client: AsyncClient, headers: dict[str, str], **query: Any) -> list[str]:
    """The ids of every redemption the filter lists, following the cursor two at a time."""
    ids: list[str] = []
    cursor = None
    while True:
        params = {**query, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/redemptions", params=params, headers=headers)
        assert page.status_code == 200, page.text
        ids += [r["id"] for r in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


async def test_lists_by_each_filter_newest_first_and_shows_rollbacks(
    client: AsyncClient, checkout: dict[str, str], factory: Factory
) -> None:
    summer = await factory.campaign(name="Summer")
    await factory.code(summer, "SUN-A")
    await factory.code(summer, "SUN-B")
    other = await factory.code(await factory.campaign(name="Other"), "OTHER")
    made = []
    for codes, customer, order in [
        (["SUN-A"], "ann", "o-1"),
        (["SUN-A", "SUN-B"], "bob", "o-2"),  # two codes of one campaign: listed once
        (["OTHER"], "ann", "o-3"),
        (["SUN-B"], "ann", "o-4"),
    ]:
        response = await redeem(client, checkout, codes, customer={"id": customer}, order_id=order)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    newest_first = made[::-1]

    by_customer = await listed(client, checkout, customer_id="ann")
    assert by_customer == [newest_first[0], newest_first[1], newest_first[3]]
    assert await listed(client, checkout, order_id="o-2") == [made[1]]
    assert await listed(client, checkout, campaign_id=str(summer.id)) == [
        made[3],
        made[1],
        made[0],
    ]
    support = bearer(await factory.api_key(Scope.SUPPORT))
    found = await client.post("/v1/codes/lookup", json={"code": "sun-a"}, headers=support)
    sun_a = found.json()["id"]
    assert await listed(client, checkout, code_id=sun_a) == [made[1], made[0]]
    assert await listed(client, checkout, code_id=str(other.id), customer_id="bob") == []
    assert await listed(client, checkout, campaign_id=str(summer.id), customer_id="ann") == [
        made[3],
        made[0],
    ]

    rollback = f"/v1/redemptions/{made[2]}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    page = await client.get("/v1/redemptions", params={"order_id": "o-3"}, headers=checkout)
    assert [r["status"] for r in page.json()["data"]] == ["rolled_back"]
    single = await client.get(f"/v1/redemptions/{made[2]}", headers=checkout)
    assert page.json()["data"][0] == single.json()


async def test_without_a_filter_all_are_listed_and_bad_filters_are_refused(
    client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
) -> None:
    await factory.code(await factory.campaign(), "ANY")
    made = [(await redeem(client, checkout, ["ANY"])).json()["id"] for _ in range(3)]
    everything = await listed(client, checkout)
    assert [i for i in everything if i in made] == made[::-1]
    bad = await client.get("/v1/redemptions", params={"code_id": "nope"}, headers=checkout)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    cursor = await client.get(
        "/v1/redemptions", params={"order_id": "o-1", "cursor": "x"}, headers=checkout
    )
    assert (cursor.status_code, cursor.json()["code"]) == (422, "invalid_cursor")
    # Support agents look too (admin keys hold every scope).
    by_admin = await client.get("/v1/redemptions", params={"order_id": "o-1"}, headers=admin)
    assert (by_admin.status_code, by_admin.json()) == (200, {"data": [], "next_cursor": None})
