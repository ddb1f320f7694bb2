"""Holds through the API: taken like a redemption, then redeemed, released or let lapse."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response

from app.domain.benefits import AmountOff, Cashback
from tests.api.test_balances import gift_card
from tests.api.test_checkout import code_count
from tests.factories import Factory, cart

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
CART = cart(("shirt", 1, 5000))


@pytest.fixture
def clock(clock_from: Callable[[datetime], list[datetime]]) -> list[datetime]:
    return clock_from(START)


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


async def hold(
    client: AsyncClient, checkout: dict[str, str], codes: list[str], order: str, **extra: Any
) -> Response:
    body = {"codes": codes, "cart": CART, "order_id": order, **extra}
    return await client.post("/v1/holds", json=body, headers=keyed(checkout))


async def redeem(
    client: AsyncClient, checkout: dict[str, str], codes: list[str], **extra: Any
) -> Response:
    body = {"codes": codes, "cart": CART, **extra}
    return await client.post("/v1/redeem", json=body, headers=keyed(checkout))


async def test_a_hold_counts_against_the_limit_and_redeems_without_taking_again(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    code = await factory.code(await factory.campaign(), "ONLYONE", max_redemptions=1)
    held = await hold(client, checkout, ["ONLYONE"], "o-1", hold_seconds=600)
    assert held.status_code == 201, held.text
    answer = held.json()
    assert (answer["status"], answer["order_id"]) == ("held", "o-1")
    assert answer["expires_at"] == "2026-06-01T12:10:00Z"
    assert answer["consumed_codes"] == ["ONLYONE"]
    assert await code_count(client, admin, code.id) == 1
    # The held use is taken: nobody else gets it.
    other = await redeem(client, checkout, ["ONLYONE"])
    assert other.json()["codes"][0]["reason"] == "limit_reached"

    url = f"/v1/holds/{answer['id']}"
    redeemed = await client.post(f"{url}/redeem", headers=checkout)
    assert redeemed.status_code == 200, redeemed.text
    assert (redeemed.json()["status"], redeemed.json()["expires_at"]) == (
        "succeeded",
        "2026-06-01T12:10:00Z",
    )
    assert await code_count(client, admin, code.id) == 1
    again = await client.post(f"{url}/redeem", headers=checkout)
    assert again.json() == redeemed.json()
    late_release = await client.post(f"{url}/release", headers=checkout)
    assert (late_release.status_code, late_release.json()["code"]) == (409, "hold_ended")
    assert "rollback" in late_release.json()["detail"]
    shown = await client.get(f"/v1/redemptions/{answer['id']}", headers=checkout)
    assert shown.json()["status"] == "succeeded"


async def test_a_released_hold_gives_everything_back_once(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    code = await factory.code(
        await factory.campaign(), "HELD", max_redemptions=5, per_customer_limit=1
    )
    held = await hold(client, checkout, ["HELD"], "o-2", customer={"id": "ann"})
    assert held.status_code == 201, held.text
    url = f"/v1/holds/{held.json()['id']}"
    released = await client.post(f"{url}/release", headers=checkout)
    assert (released.status_code, released.json()["status"]) == (200, "released")
    assert await code_count(client, admin, code.id) == 0
    assert (await client.post(f"{url}/release", headers=checkout)).json() == released.json()
    ended = await client.post(f"{url}/redeem", headers=checkout)
    assert (ended.status_code, ended.json()["code"]) == (409, "hold_ended")
    # Ann's one use came back with it.
    assert (await redeem(client, checkout, ["HELD"], customer={"id": "ann"})).status_code == 201


async def test_a_lapsed_hold_gives_back_by_itself_when_the_capacity_is_needed(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    code = await factory.code(await factory.campaign(), "LAPSING", max_redemptions=1)
    held = await hold(client, checkout, ["LAPSING"], "o-3", hold_seconds=60)
    clock[0] = START + timedelta(seconds=61)
    validation = await client.post(
        "/v1/validate", json={"codes": ["LAPSING"], "cart": CART}, headers=checkout
    )
    assert validation.json()["codes"][0]["reason"] is None  # the lapsed hold let go
    shown = await client.get(f"/v1/redemptions/{held.json()['id']}", headers=checkout)
    assert shown.json()["status"] == "expired"
    assert (await redeem(client, checkout, ["LAPSING"])).status_code == 201
    assert await code_count(client, admin, code.id) == 1
    late = await client.post(f"/v1/holds/{held.json()['id']}/redeem", headers=checkout)
    assert (late.status_code, late.json()["code"]) == (409, "hold_ended")


async def test_the_lapse_run_releases_what_ended_and_only_that(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    await factory.code(await factory.campaign(), "SWEPT")
    short = await hold(client, checkout, ["SWEPT"], "o-4", hold_seconds=60)
    long = await hold(client, checkout, ["SWEPT"], "o-5", hold_seconds=3600)
    clock[0] = START + timedelta(minutes=5)
    run = await client.post("/v1/hold-lapse-runs", headers=admin)
    assert (run.status_code, run.json()) == (200, {"released": 1})
    assert (await client.post("/v1/hold-lapse-runs", headers=admin)).json() == {"released": 0}
    statuses = [
        (await client.get(f"/v1/redemptions/{h.json()['id']}", headers=checkout)).json()["status"]
        for h in (short, long)
    ]
    assert statuses == ["expired", "held"]
    assert (await client.post("/v1/hold-lapse-runs", headers=checkout)).status_code == 403


async def test_a_paused_campaign_refuses_new_holds_and_says_whether_old_ones_redeem(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    honouring = await factory.campaign(name="Honouring")
    strict = await factory.campaign(name="Strict")
    await factory.code(honouring, "KEEPS")
    await factory.code(strict, "DROPS")
    patched = await client.patch(
        f"/v1/campaigns/{strict.id}", json={"honour_holds": False}, headers=admin
    )
    assert patched.json()["honour_holds"] is False
    kept = await hold(client, checkout, ["KEEPS"], "o-6")
    dropped = await hold(client, checkout, ["DROPS"], "o-7")
    for campaign in (honouring, strict):
        await client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)

    refused = await hold(client, checkout, ["KEEPS"], "o-8")
    assert refused.json()["codes"][0]["reason"] == "paused"
    ok = await client.post(f"/v1/holds/{kept.json()['id']}/redeem", headers=checkout)
    assert ok.status_code == 200, ok.text
    no = await client.post(f"/v1/holds/{dropped.json()['id']}/redeem", headers=checkout)
    assert (no.status_code, no.json()["code"]) == (409, "hold_ended")
    assert "Strict" in no.json()["detail"]


async def test_cashback_is_credited_when_the_hold_is_redeemed(
    client: AsyncClient, checkout: dict[str, str], factory: Factory, clock: list[datetime]
) -> None:
    await factory.code(await factory.campaign(AmountOff({"EUR": 500}), Cashback(1000)), "BACK")
    held = await hold(client, checkout, ["BACK"], "o-9", customer={"id": "ann"})
    assert held.json()["cashback_credit"] is None
    wallets = await client.get("/v1/customers/ann/wallets", headers=checkout)
    assert wallets.json()["data"] == []
    redeemed = await client.post(f"/v1/holds/{held.json()['id']}/redeem", headers=checkout)
    assert redeemed.json()["cashback_credit"]["amount"] == 450
    [wallet] = (await client.get("/v1/customers/ann/wallets", headers=checkout)).json()["data"]
    assert wallet["pending_amount"] == 450


async def test_hold_requests_are_checked(
    client: AsyncClient, checkout: dict[str, str], factory: Factory
) -> None:
    await factory.code(await factory.campaign(), "CHECKED")
    too_long = await hold(client, checkout, ["CHECKED"], "o-10", hold_seconds=86_400)
    assert (too_long.status_code, too_long.json()["fields"]) == (422, ["hold_seconds"])
    # A limit of the running service, not of the schema: its own code, not validation_error.
    assert (too_long.json()["code"], too_long.json()["max_seconds"]) == ("hold_too_long", 3600)
    no_order = await client.post(
        "/v1/holds", json={"codes": ["CHECKED"], "cart": CART}, headers=keyed(checkout)
    )
    assert no_order.status_code == 422
    unknown = await client.post(f"/v1/holds/{uuid.uuid4()}/redeem", headers=checkout)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "hold_not_found")
    # A redemption made directly is not a hold.
    direct = await redeem(client, checkout, ["CHECKED"])
    not_hold = await client.post(f"/v1/holds/{direct.json()['id']}/release", headers=checkout)
    assert (not_hold.status_code, not_hold.json()["code"]) == (404, "hold_not_found")


async def card_balance(client: AsyncClient, headers: dict[str, str], card_id: str) -> int:
    found = await client.get(f"/v1/gift-cards/{card_id}", headers=headers)
    assert found.status_code == 200, found.text
    balance: int = found.json()["available_amount"]
    return balance


async def test_a_hold_takes_what_a_gift_card_pays_and_gives_it_back_when_it_ends(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    card = await gift_card(client, admin, 3000)
    await factory.code(await factory.campaign(AmountOff({"EUR": 1000})), "TENOFF")
    paying = {"balance_codes": [card["code"]], "hold_seconds": 60}

    # Released: the payment goes back.
    released = await hold(client, checkout, ["TENOFF"], "o-20", **paying)
    assert released.status_code == 201, released.text
    assert [p["amount"] for p in released.json()["payments"]] == [3000]
    assert await card_balance(client, checkout, card["id"]) == 0
    url = f"/v1/holds/{released.json()['id']}/release"
    assert (await client.post(url, headers=checkout)).json()["status"] == "released"
    assert await card_balance(client, checkout, card["id"]) == 3000

    # Lapsed: the sweep gives it back.
    lapsing = await hold(client, checkout, ["TENOFF"], "o-21", **paying)
    assert await card_balance(client, checkout, card["id"]) == 0
    clock[0] = START + timedelta(minutes=2)
    run = await client.post("/v1/hold-lapse-runs", headers=admin)
    assert run.json() == {"released": 1}
    assert await card_balance(client, checkout, card["id"]) == 3000
    shown = await client.get(f"/v1/redemptions/{lapsing.json()['id']}", headers=checkout)
    assert shown.json()["status"] == "expired"

    # Redeemed: the payment stays; a rollback refunds it.
    kept = await hold(client, checkout, ["TENOFF"], "o-22", **paying)
    redeemed = await client.post(f"/v1/holds/{kept.json()['id']}/redeem", headers=checkout)
    assert (redeemed.status_code, redeemed.json()["status"]) == (200, "succeeded")
    assert await card_balance(client, checkout, card["id"]) == 0
    rollback = f"/v1/redemptions/{kept.json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).json()["status"] == "rolled_back"
    assert await card_balance(client, checkout, card["id"]) == 3000


async def test_a_lapsed_hold_that_paid_with_a_card_is_released_when_its_code_is_needed(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    clock: list[datetime],
) -> None:
    card = await gift_card(client, admin, 2000)
    await factory.code(
        await factory.campaign(AmountOff({"EUR": 500})), "JUSTONE", max_redemptions=1
    )
    held = await hold(
        client, checkout, ["JUSTONE"], "o-23", balance_codes=[card["code"]], hold_seconds=60
    )
    assert held.status_code == 201, held.text
    clock[0] = START + timedelta(minutes=2)
    assert (await redeem(client, checkout, ["JUSTONE"])).status_code == 201
    assert await card_balance(client, checkout, card["id"]) == 2000
    shown = await client.get(f"/v1/redemptions/{held.json()['id']}", headers=checkout)
    assert shown.json()["status"] == "expired"
