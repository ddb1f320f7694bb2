"""Campaign budgets through the API: caps on redemptions and on money taken off, refused or
reduced at the cap, shown on the campaign, given back by rollbacks."""

import uuid
from typing import Any

from httpx import AsyncClient, Response

from tests.factories import cart

PERCENT_10 = {"type": "percent_off", "basis_points": 1000}


async def campaign(client: AsyncClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Budgeted", "effects": [PERCENT_10], **fields}
    response = await client.post("/v1/campaigns", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def code(client: AsyncClient, admin: dict[str, str], campaign_id: str, text: str) -> None:
    response = await client.post(
        f"/v1/campaigns/{campaign_id}/codes", json={"code": text}, headers=admin
    )
    assert response.status_code == 201, response.text


async def redeem(
    client: AsyncClient,
    checkout: dict[str, str],
    codes: list[str],
    amount: int,
    currency: str = "EUR",
    **extra: Any,
) -> Response:
    body = {"codes": codes, "cart": cart(("item", 1, amount), currency=currency), **extra}
    return await client.post(
        "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
    )


async def budget(client: AsyncClient, admin: dict[str, str], campaign_id: str) -> Any:
    return (await client.get(f"/v1/campaigns/{campaign_id}", headers=admin)).json()["budget"]


async def test_a_redemption_cap_counts_orders_and_a_rollback_gives_one_back(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin, budget={"max_redemptions": 2})
    assert made["budget"] == {
        "max_redemptions": 2,
        "max_discount": {},
        "over_budget": "refuse",
        "redemptions": 0,
        "discount": {},
    }
    await code(client, admin, made["id"], "FIRSTTWO")
    await code(client, admin, made["id"], "FIRSTTWO-B")
    # Two codes of the campaign in one order count once.
    both = await redeem(client, checkout, ["FIRSTTWO", "FIRSTTWO-B"], 5000)
    assert both.status_code == 201, both.text
    assert (await redeem(client, checkout, ["FIRSTTWO"], 5000)).status_code == 201
    assert (await budget(client, admin, made["id"]))["redemptions"] == 2

    spent = await redeem(client, checkout, ["FIRSTTWO"], 5000)
    assert spent.status_code == 409
    verdict = spent.json()["codes"][0]
    assert (verdict["reason"], verdict["message"]) == (
        "budget_exhausted",
        "This offer has been used up.",
    )
    validation = await client.post(
        "/v1/validate",
        json={"codes": ["FIRSTTWO"], "cart": cart(("item", 1, 5000))},
        headers=checkout,
    )
    assert validation.json()["codes"][0]["reason"] == "budget_exhausted"

    rollback = f"/v1/redemptions/{both.json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    assert (await budget(client, admin, made["id"]))["redemptions"] == 1
    assert (await redeem(client, checkout, ["FIRSTTWO"], 5000)).status_code == 201


async def test_a_money_cap_refuses_the_discount_that_would_cross_it(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin, budget={"max_discount": {"EUR": 1500}})
    await code(client, admin, made["id"], "CAPPED")
    assert (await redeem(client, checkout, ["CAPPED"], 10_000)).status_code == 201  # 10.00 off
    over = await redeem(client, checkout, ["CAPPED"], 10_000)
    assert over.json()["codes"][0]["reason"] == "budget_exceeded"
    fits = await redeem(client, checkout, ["CAPPED"], 4_000)  # 4.00 off fits in 5.00
    assert fits.status_code == 201, fits.text
    # Another currency is not capped.
    dollars = await redeem(client, checkout, ["CAPPED"], 100_000, currency="USD")
    assert (dollars.status_code, dollars.json()["discount_amount"]) == (201, 10_000)
    state = await budget(client, admin, made["id"])
    assert (state["discount"], state["redemptions"]) == ({"EUR": 1400}, 0)


async def test_reduce_gives_the_last_order_what_is_left(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(
        client, admin, budget={"max_discount": {"EUR": 1500}, "over_budget": "reduce"}
    )
    await code(client, admin, made["id"], "REDUCED")
    assert (await redeem(client, checkout, ["REDUCED"], 10_000)).json()["discount_amount"] == 1000
    last = await redeem(client, checkout, ["REDUCED"], 10_000)
    assert (last.status_code, last.json()["discount_amount"]) == (201, 500)
    assert sum(line["discount_amount"] for line in last.json()["lines"]) == 500
    gone = await redeem(client, checkout, ["REDUCED"], 10_000)
    assert gone.json()["codes"][0]["reason"] == "budget_exhausted"
    assert (await budget(client, admin, made["id"]))["discount"] == {"EUR": 1500}


async def test_an_automatic_promotion_s_cap_skips_it_once_spent(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin, trigger="automatic", budget={"max_redemptions": 1})
    first = await redeem(client, checkout, [], 5000)
    assert [p["campaign_id"] for p in first.json()["applied"]] == [made["id"]]
    second = await redeem(client, checkout, [], 5000)
    assert second.status_code == 201, second.text
    assert second.json()["applied"] == []
    skipped = [(s["campaign_id"], s["reason"]) for s in second.json()["skipped"]]
    assert (made["id"], "budget_exhausted") in skipped


async def test_a_cap_moves_but_never_below_what_was_used(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin, budget={"max_redemptions": 5})
    await code(client, admin, made["id"], "MOVABLE")
    for _ in range(3):
        assert (await redeem(client, checkout, ["MOVABLE"], 5000)).status_code == 201
    url = f"/v1/campaigns/{made['id']}"
    below = await client.patch(url, json={"budget": {"max_redemptions": 2}}, headers=admin)
    assert (below.status_code, below.json()["code"]) == (422, "invalid_campaign")
    assert below.json()["fields"] == ["budget.max_redemptions"]
    exact = await client.patch(url, json={"budget": {"max_redemptions": 3}}, headers=admin)
    assert exact.json()["budget"]["redemptions"] == 3
    assert (await redeem(client, checkout, ["MOVABLE"], 5000)).status_code == 409
    removed = await client.patch(url, json={"budget": {}}, headers=admin)
    assert removed.json()["budget"]["max_redemptions"] is None
    assert (await redeem(client, checkout, ["MOVABLE"], 5000)).status_code == 201
    null = await client.patch(url, json={"budget": None}, headers=admin)
    assert null.status_code == 422


async def test_cashback_orders_count_on_the_transaction_path_too(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(
        client,
        admin,
        effects=[PERCENT_10, {"type": "cashback", "basis_points": 500}],
        budget={"max_redemptions": 1, "max_discount": {"EUR": 2000}},
    )
    await code(client, admin, made["id"], "BACKED")
    first = await redeem(client, checkout, ["BACKED"], 10_000, customer={"id": "ann"})
    assert first.status_code == 201, first.text
    assert first.json()["cashback_credit"] is not None
    state = await budget(client, admin, made["id"])
    assert (state["redemptions"], state["discount"]) == (1, {"EUR": 1000})
    again = await redeem(client, checkout, ["BACKED"], 10_000, customer={"id": "bob"})
    assert again.json()["codes"][0]["reason"] == "budget_exhausted"
    rollback = f"/v1/redemptions/{first.json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    state = await budget(client, admin, made["id"])
    assert (state["redemptions"], state["discount"]) == (0, {"EUR": 0})


async def test_a_hold_counts_against_the_budget_until_released(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(
        client, admin, budget={"max_redemptions": 1, "max_discount": {"EUR": 900}}
    )
    await code(client, admin, made["id"], "HOLDBUDGET")
    body = {"codes": ["HOLDBUDGET"], "cart": cart(("item", 1, 5000)), "order_id": "o-1"}
    held = await client.post(
        "/v1/holds", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert held.status_code == 201, held.text
    state = await budget(client, admin, made["id"])
    assert (state["redemptions"], state["discount"]) == (1, {"EUR": 500})
    assert (await redeem(client, checkout, ["HOLDBUDGET"], 5000)).status_code == 409
    release = f"/v1/holds/{held.json()['id']}/release"
    assert (await client.post(release, headers=checkout)).status_code == 200
    state = await budget(client, admin, made["id"])
    assert (state["redemptions"], state["discount"]) == (0, {"EUR": 0})
    assert (await redeem(client, checkout, ["HOLDBUDGET"], 5000)).status_code == 201


async def test_a_cap_set_after_a_redemption_counts_it_and_its_rollback_gives_it_back(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin, budget={"max_redemptions": 10})
    await code(client, admin, made["id"], "BEFORE")
    before = await redeem(client, checkout, ["BEFORE"], 10_000)  # 10.00 off
    capped = await client.patch(
        f"/v1/campaigns/{made['id']}",
        json={"budget": {"max_redemptions": 10, "max_discount": {"EUR": 2000}}},
        headers=admin,
    )
    assert capped.status_code == 200, capped.text
    assert capped.json()["budget"]["discount"] == {"EUR": 1000}
    assert (await redeem(client, checkout, ["BEFORE"], 4_000)).status_code == 201
    rollback = f"/v1/redemptions/{before.json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    state = await budget(client, admin, made["id"])
    assert (state["redemptions"], state["discount"]) == (1, {"EUR": 400})


async def test_a_cap_set_later_or_again_starts_from_what_live_redemptions_used(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign(client, admin)
    await code(client, admin, made["id"], "LATECAP")
    url = f"/v1/campaigns/{made['id']}"
    first = [await redeem(client, checkout, ["LATECAP"], 5000) for _ in range(3)]
    below = await client.patch(url, json={"budget": {"max_redemptions": 2}}, headers=admin)
    assert (below.status_code, below.json()["code"]) == (422, "invalid_campaign")
    capped = await client.patch(
        url, json={"budget": {"max_redemptions": 4, "max_discount": {"EUR": 2000}}}, headers=admin
    )
    assert capped.status_code == 200, capped.text
    state = capped.json()["budget"]
    assert (state["redemptions"], state["discount"]) == (3, {"EUR": 1500})

    # Removed and set again: it starts from the live redemptions, not from nothing.
    await client.patch(url, json={"budget": {}}, headers=admin)
    again = await client.patch(url, json={"budget": {"max_redemptions": 4}}, headers=admin)
    assert again.json()["budget"]["redemptions"] == 3
    assert (await redeem(client, checkout, ["LATECAP"], 5000)).status_code == 201
    assert (await redeem(client, checkout, ["LATECAP"], 5000)).json()["codes"][0]["reason"] == (
        "budget_exhausted"
    )
    # A redemption from before the cap gives its place back when rolled back, once.
    rollback = f"/v1/redemptions/{first[0].json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    assert (await budget(client, admin, made["id"]))["redemptions"] == 3
    assert (await redeem(client, checkout, ["LATECAP"], 5000)).status_code == 201
    assert (await redeem(client, checkout, ["LATECAP"], 5000)).status_code == 409
