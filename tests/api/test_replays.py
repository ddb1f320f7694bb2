"""Every idempotent write answers a retry with its Idempotency-Key with exactly the bytes of its
first answer (the typed result and the stored answer render alike, and the answer is kept as
sent), says so in Idempotent-Replayed, and does nothing more; a refusal is refused again the
same way."""

import uuid
from typing import Any

from httpx import AsyncClient, Response

from app.domain.benefits import AmountOff
from tests.factories import Factory, cart


async def twice(
    client: AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[Response, Response]:
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(url, json=body, headers=keyed)
    again = await client.post(url, json=body, headers=keyed)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    return first, again


def same(first: Response, again: Response, status: int) -> None:
    assert first.status_code == status, first.text
    assert (again.status_code, again.content) == (status, first.content)


async def test_gift_cards_and_top_ups(client: AsyncClient, admin: dict[str, str]) -> None:
    issued, again = await twice(client, "/v1/gift-cards", {"currency": "EUR", "amount": 500}, admin)
    same(issued, again, 201)
    url = f"/v1/gift-cards/{issued.json()['id']}/top-ups"
    topped, again = await twice(client, url, {"currency": "EUR", "amount": 250}, admin)
    same(topped, again, 200)
    assert topped.json()["available_amount"] == 750
    looked_up = await client.post(
        "/v1/gift-cards/lookup", json={"code": issued.json()["code"]}, headers=admin
    )
    assert looked_up.json()["available_amount"] == 750


async def test_support_codes(client: AsyncClient, admin: dict[str, str]) -> None:
    body = {"customer": {"id": "ann"}, "reason": "Late parcel", "percent_off": 1000}
    issued, again = await twice(client, "/v1/support/codes", body, admin)
    same(issued, again, 201)
    listed = await client.get("/v1/customers/ann/codes", headers=admin)
    assert [code["code"] for code in listed.json()["data"]] == [issued.json()["code"]]


async def test_loyalty_adjustments_and_reward_spends(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    program = await client.post(
        "/v1/loyalty/programs",
        json={
            "name": "Club",
            "currency": "EUR",
            "earn_rate": {"points": 1, "per_amount": 100},
            "tiers": [
                {"key": "member", "label": "Member", "threshold": 0, "multiplier_percent": 100}
            ],
            "pending_days": 0,
        },
        headers=admin,
    )
    assert program.status_code == 201, program.text
    base = f"/v1/loyalty/programs/{program.json()['id']}"
    reward = await client.post(
        f"{base}/rewards",
        json={"name": "5 off", "points_cost": 100, "amount_off": 500},
        headers=admin,
    )
    assert reward.status_code == 201, reward.text

    added, again = await twice(
        client, f"{base}/members/cus_1/adjustments", {"points": 150, "reason": "Goodwill"}, admin
    )
    same(added, again, 201)
    url = f"{base}/members/cus_1/reward-redemptions"
    bought, again = await twice(client, url, {"reward_id": reward.json()["id"]}, checkout)
    same(bought, again, 201)
    member = await client.get(f"{base}/members/cus_1", headers=checkout)
    assert member.json()["available_points"] == 50

    body = {"customer_id": "cus_1", "order_id": "o-1", "amount": 1000, "currency": "EUR"}
    earned = await client.post(f"{base}/earnings", json=body, headers=checkout)
    repeat = await client.post(f"{base}/earnings", json=body, headers=checkout)
    assert (earned.status_code, repeat.status_code) == (201, 200)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert {k: v for k, v in repeat.json().items() if k != "balance"} == {
        k: v for k, v in earned.json().items() if k != "balance"
    }


async def test_redeems_kept_and_refused_on_both_write_paths(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], factory: Factory
) -> None:
    campaign = await factory.campaign(AmountOff({"EUR": 300}))
    code = await factory.code(campaign, "REPLAY-1")
    card = await client.post(
        "/v1/gift-cards",
        json={"currency": "EUR", "amount": 1000},
        headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
    )
    kept = {"codes": [code.code], "cart": cart(("A", 1, 2000))}
    # No balance code: the two-statement path; with one: the transaction.
    for body in (kept, kept | {"balance_codes": [card.json()["code"]], "order_id": "o-2"}):
        first, again = await twice(client, "/v1/redeem", body, checkout)
        same(first, again, 201)
    for body in (
        {"codes": ["NO-SUCH-CODE"], "cart": cart(("A", 1, 2000))},
        {"codes": [], "balance_codes": ["NO-SUCH-CARD"], "cart": cart(("A", 1, 2000))},
    ):
        first, again = await twice(client, "/v1/redeem", body, checkout)
        assert (first.status_code, again.status_code) == (409, 409)
        # The same problem, but each response names its own request (instance).
        assert again.json() | {"instance": None} == first.json() | {"instance": None}
