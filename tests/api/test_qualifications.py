"""POST /v1/qualifications: what a shopper could use on a cart, best first, and what almost
applies."""

from typing import Any

import pytest
from httpx import AsyncClient

from app.domain.api_keys import Scope
from app.domain.benefits import AmountOff, PercentOff
from app.domain.campaigns import Trigger
from app.domain.conditions import Conditions
from app.services.jobs import Worker
from tests.api.test_pools import generate
from tests.factories import Factory, bearer, cart


@pytest.fixture
async def support(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.SUPPORT, name="agent"))


async def qualify(
    client: AsyncClient, checkout: dict[str, str], amount: int, customer: str | None = None
) -> Any:
    body: dict[str, Any] = {"cart": cart(("shirt", 1, amount))}
    if customer is not None:
        body["customer"] = {"id": customer}
    response = await client.post("/v1/qualifications", json=body, headers=checkout)
    assert response.status_code == 200, response.text
    return response.json()


async def test_offers_what_applies_best_first_and_what_almost_does(
    client: AsyncClient,
    checkout: dict[str, str],
    admin: dict[str, str],
    factory: Factory,
    worker: Worker,
) -> None:
    over_30 = Conditions(min_subtotal_amounts={"EUR": 3000})
    await factory.campaign(
        PercentOff(1000), name="Ten off over 30", trigger=Trigger.AUTOMATIC, conditions=over_30
    )
    sorry = await factory.campaign(AmountOff({"EUR": 800}), name="Sorry")
    await factory.code(sorry, "SORRY-ANN", customer_id="ann", max_redemptions=1)
    advertised = await factory.campaign(AmountOff({"EUR": 300}), name="Newsletter")
    await factory.code(advertised, "NEWS3")
    await generate(client, admin, worker, advertised.id, count=2)  # pool codes are never offered
    patched = await client.patch(
        f"/v1/campaigns/{advertised.id}", json={"advertised": True}, headers=admin
    )
    assert patched.json()["advertised"] is True
    quiet = await factory.campaign(AmountOff({"EUR": 5000}), name="Quiet")
    await factory.code(quiet, "SECRET50")

    ann = await qualify(client, checkout, 5000, customer="ann")
    offered = [(o["code"], o["source"], o["discount_amount"]) for o in ann["offers"]]
    assert offered == [
        ("SORRY-ANN", "bound", 800),
        (None, "automatic", 500),
        ("NEWS3", "advertised", 300),
    ]
    assert ann["offers"][0]["total_amount"] == 4200
    assert ann["near_misses"] == []

    small = await qualify(client, checkout, 2000, customer="bob")
    assert [(o["code"], o["source"]) for o in small["offers"]] == [("NEWS3", "advertised")]
    [near] = small["near_misses"]
    assert (near["campaign_name"], near["reason"], near["shortfall"]) == (
        "Ten off over 30",
        "min_subtotal_not_met",
        {"amount": 1000, "quantity": None},
    )
    assert "Add" in near["message"]


async def test_codes_that_cannot_be_used_are_not_offered(
    client: AsyncClient, checkout: dict[str, str], support: dict[str, str], factory: Factory
) -> None:
    campaign = await factory.campaign(AmountOff({"EUR": 500}))
    used = await factory.code(campaign, "USED-ANN", customer_id="ann", max_redemptions=1)
    off = await factory.code(campaign, "OFF-ANN", customer_id="ann")
    await client.post(f"/v1/codes/{off.id}/disable", headers=support)
    body = {"codes": ["USED-ANN"], "customer": {"id": "ann"}, "cart": cart(("shirt", 1, 5000))}
    redeemed = await client.post(
        "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": f"k-{used.id}"}
    )
    assert redeemed.status_code == 201, redeemed.text
    assert (await qualify(client, checkout, 5000, customer="ann"))["offers"] == []


async def test_only_checkout_keys_ask(
    client: AsyncClient, support: dict[str, str], factory: Factory
) -> None:
    body = {"cart": cart(("shirt", 1, 5000))}
    refused = await client.post("/v1/qualifications", json=body, headers=support)
    assert refused.status_code == 403
    checkout = bearer(await factory.api_key(Scope.CHECKOUT))
    typed = await client.post("/v1/qualifications", json={**body, "codes": ["X"]}, headers=checkout)
    assert (typed.status_code, typed.json()["code"]) == (422, "validation_error")
