"""The engine's shapes through the API: campaigns that use them, what the schema cannot say
refused as a business error, carts with shipping methods, a return that keeps the shipping
method it was priced with, and verdicts in the shopper's language."""

import uuid
from typing import Any

from httpx import AsyncClient

from tests.api.test_returns import campaign_with_code, give_back, keyed, lines


async def validate(
    client: AsyncClient,
    checkout: dict[str, str],
    codes: list[str],
    cart: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/validate", json={"codes": codes, "cart": cart, **extra}, headers=checkout
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_campaign_with_every_new_shape_reads_back_as_created(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "name": "Everything",
        "effects": [
            {
                "type": "bundle",
                "quantity": 3,
                "price_amounts": {"EUR": 1000},
                "pick": "most_expensive",
            },
            {
                "type": "tiered",
                "tiers": [
                    {"min_amounts": {"EUR": 5000}, "basis_points": 1000},
                    {"min_amounts": {"EUR": 10000}, "amounts": {"EUR": 2500}},
                ],
            },
            {"type": "percent_off_each", "basis_points": 2000, "cap": {"max_units": 1}},
            {"type": "shipping_price", "amounts": {"EUR": 200}, "methods": ["standard"]},
        ],
        "conditions": {
            "cart": [
                {"type": "cart_contains", "items": {"categories": ["shoes"]}, "min_quantity": 2},
                {"type": "shipping_method", "methods": ["standard", "express"]},
            ]
        },
        "stacking": {"exclusive": True, "exclusive_conflict": "refuse", "best_of": "welcome"},
        "rounding": "half_even",
        "calculation_base": "after_discounts",
    }
    made = await client.post("/v1/campaigns", json=body, headers=admin)
    assert made.status_code == 201, made.text
    read = (await client.get(f"/v1/campaigns/{made.json()['id']}", headers=admin)).json()
    assert read["effects"][0] == {
        "type": "bundle",
        "quantity": 3,
        "price_amounts": {"EUR": 1000},
        "amounts_off": {},
        "max_applications": None,
        "pick": "most_expensive",
    }
    assert read["effects"][1]["tiers"][1] == {
        "min_quantity": None,
        "min_amounts": {"EUR": 10000},
        "basis_points": None,
        "amounts": {"EUR": 2500},
    }
    assert read["conditions"]["cart"][1] == {
        "type": "shipping_method",
        "methods": ["express", "standard"],
    }
    assert read["stacking"]["best_of"] == "welcome"
    assert read["stacking"]["exclusive_conflict"] == "refuse"
    assert (read["rounding"], read["calculation_base"]) == ("half_even", "after_discounts")
    changed = await client.patch(
        f"/v1/campaigns/{read['id']}",
        json={"rounding": "down", "calculation_base": "standard"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["rounding"], changed.json()["calculation_base"]) == ("down", "standard")


async def test_what_the_schema_cannot_say_is_an_invalid_campaign(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    bad = [
        {"type": "bundle", "quantity": 3},
        {"type": "bundle", "quantity": 3, "price_amounts": {"EUR": 1}, "amounts_off": {"EUR": 1}},
        {"type": "tiered", "tiers": [{"min_quantity": 2}]},
        {
            "type": "tiered",
            "tiers": [
                {"min_quantity": 4, "basis_points": 1000},
                {"min_quantity": 2, "basis_points": 2000},
            ],
        },
        {
            "type": "tiered",
            "tiers": [
                {"min_quantity": 2, "basis_points": 1000},
                {"min_amounts": {"EUR": 5000}, "basis_points": 2000},
            ],
        },
    ]
    # No currency in every amount: it could never apply.
    never = {
        "type": "tiered",
        "tiers": [{"min_amounts": {"EUR": 5000}, "amounts": {"JPY": 500}}],
    }
    response = await client.post(
        "/v1/campaigns", json={"name": "Never", "effects": [never]}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_campaign"
    assert response.json()["fields"] == ["effects", "conditions"]
    for effect in bad:
        response = await client.post(
            "/v1/campaigns", json={"name": "Bad", "effects": [effect]}, headers=admin
        )
        assert response.status_code == 422, effect
        assert response.json()["code"] == "invalid_campaign", response.text
        assert response.json()["fields"] == ["effects"]


async def test_a_cart_whose_shipping_methods_disagree_is_refused(
    client: AsyncClient, checkout: dict[str, str]
) -> None:
    base = {"currency": "EUR", "lines": lines(("a", 1, 1000))}
    carts = [
        {**base, "shipping_methods": [{"id": "x", "amount": 1, "chosen": True}] * 2},
        {
            **base,
            "shipping_methods": [
                {"id": "x", "amount": 1, "chosen": True},
                {"id": "y", "amount": 2, "chosen": True},
            ],
        },
        {
            **base,
            "shipping_amount": 5,
            "shipping_methods": [{"id": "x", "amount": 1, "chosen": True}],
        },
    ]
    for cart in carts:
        response = await client.post("/v1/validate", json={"cart": cart}, headers=checkout)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_cart"


async def test_a_return_keeps_the_shipping_method_the_order_was_priced_with(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    """5 % off for store pickup: the order keeps it after a partial return, because the
    redemption remembers the chosen method."""
    await campaign_with_code(
        client,
        admin,
        "PICKUP5",
        effects=[{"type": "percent_off", "basis_points": 500}],
        conditions={"cart": [{"type": "shipping_method", "methods": ["pickup"]}]},
    )
    cart = {
        "currency": "EUR",
        "lines": lines(("a", 2, 2000)),
        "shipping_methods": [
            {"id": "pickup", "amount": 0, "chosen": True},
            {"id": "standard", "amount": 590},
        ],
    }
    response = await client.post(
        "/v1/redeem", json={"codes": ["PICKUP5"], "cart": cart}, headers=keyed(checkout)
    )
    assert response.status_code == 201, response.text
    redeemed = response.json()
    assert (redeemed["discount_amount"], redeemed["shipping_amount"]) == (200, 0)
    returned = await give_back(client, checkout, redeemed["id"], ("a", 1))
    assert returned.status_code == 201, returned.text
    assert returned.json()["discount_amount"] == 100


async def test_verdicts_follow_the_locale(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(
        client, admin, "OVER30", conditions={"min_subtotal_amounts": {"EUR": 3000}}
    )
    cart = {"currency": "EUR", "lines": lines(("a", 1, 2550))}
    english = await validate(client, checkout, ["OVER30", "NOPE-" + uuid.uuid4().hex[:6]], cart)
    assert english["codes"][0]["message"] == (
        "The eligible items are below this offer's minimum. Add 4.50 EUR more to unlock it."
    )
    french = await validate(client, checkout, ["OVER30"], cart, locale="fr-FR")
    assert french["codes"][0]["message"] == (
        "Les articles concernés sont en dessous du minimum de cette offre. "
        "Ajoutez encore 4,50\u00a0€ pour en profiter."
    )
    assert french["codes"][0]["reason"] == "min_subtotal_not_met"
    polish = await validate(client, checkout, ["OVER30"], {**cart, "currency": "EUR"}, locale="pl")
    assert polish["codes"][0]["message"].endswith("Dodaj jeszcze 4,50\u00a0€, aby skorzystać.")
    applies = await validate(
        client, checkout, ["OVER30"], {**cart, "lines": lines(("a", 1, 3000))}, locale="de-DE"
    )
    assert applies["codes"][0]["message"] == "Der Code ist gültig."
