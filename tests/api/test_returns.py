"""Partial returns: the order's promotions applied again to what stays, the difference given
back (budgets, gift cards, cashback, points), and a rollback afterwards giving back exactly
the rest."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PERCENT_10 = {"type": "percent_off", "basis_points": 1000}


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or str(uuid.uuid4())}


def lines(*items: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": q, "unit_price_amount": p} for sku, q, p in items]


async def campaign_with_code(
    client: AsyncClient, admin: dict[str, str], code: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": f"Campaign {code}", "effects": [PERCENT_10], **fields}
    made = await client.post("/v1/campaigns", json=body, headers=admin)
    assert made.status_code == 201, made.text
    coded = await client.post(
        f"/v1/campaigns/{made.json()['id']}/codes", json={"code": code}, headers=admin
    )
    assert coded.status_code == 201, coded.text
    created: dict[str, Any] = made.json()
    return created


async def redeem(
    client: AsyncClient,
    checkout: dict[str, str],
    codes: list[str],
    *items: tuple[str, int, int],
    shipping: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "codes": codes,
        "cart": {"currency": "EUR", "lines": lines(*items), "shipping_amount": shipping},
        **extra,
    }
    response = await client.post("/v1/redeem", json=body, headers=keyed(checkout))
    assert response.status_code == 201, response.text
    redeemed: dict[str, Any] = response.json()
    return redeemed


async def give_back(
    client: AsyncClient,
    checkout: dict[str, str],
    redemption_id: str,
    *returned: tuple[str, int],
    key: str | None = None,
) -> Response:
    return await client.post(
        f"/v1/redemptions/{redemption_id}/returns",
        json={"lines": [{"sku": sku, "quantity": q} for sku, q in returned]},
        headers=keyed(checkout, key),
    )


async def test_a_return_recomputes_the_discount_on_what_stays(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(client, admin, "TENOFF")
    redeemed = await redeem(client, checkout, ["TENOFF"], ("a", 2, 2000), ("b", 1, 1000))
    assert (redeemed["discount_amount"], redeemed["total_amount"]) == (500, 4500)
    response = await give_back(client, checkout, redeemed["id"], ("a", 1))
    assert response.status_code == 201, response.text
    returned = response.json()
    assert returned["lines"] == [{"index": 0, "sku": "a", "quantity": 1}]
    assert (returned["discount_amount"], returned["total_amount"]) == (300, 2700)
    assert returned["refund_amount"] == 1800
    assert returned["external_refund_amount"] == 1800
    assert returned["promotions"][0]["given_back_amount"] == 200
    assert returned["order_returned"] is False


async def test_a_threshold_the_rest_no_longer_meets_gives_its_whole_discount_back(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await campaign_with_code(
        client,
        admin,
        "OVER50",
        conditions={"min_subtotal_amounts": {"EUR": 5000}},
        budget={"max_discount": {"EUR": 100_000}},
    )
    redeemed = await redeem(client, checkout, ["OVER50"], ("a", 1, 3000), ("b", 1, 3000))
    assert redeemed["total_amount"] == 5400
    returned = (await give_back(client, checkout, redeemed["id"], ("b", 1))).json()
    assert (returned["discount_amount"], returned["total_amount"]) == (0, 3000)
    assert returned["refund_amount"] == 2400  # b cost 3000, less the 600 the order loses
    assert returned["promotions"] == [
        {
            "campaign_id": made["id"],
            "code": "OVER50",
            "discount_amount": 0,
            "shipping_discount_amount": 0,
            "cashback_amount": 0,
            "given_back_amount": 600,
        }
    ]
    campaign = await client.get(f"/v1/campaigns/{made['id']}", headers=admin)
    assert campaign.json()["budget"]["discount"] == {"EUR": 0}
    current = await client.get(f"/v1/redemptions/{redeemed['id']}", headers=checkout)
    assert current.json()["total_amount"] == 5400  # as redeemed
    assert current.json()["returned"] == {
        "lines": [{"index": 1, "sku": "b", "quantity": 1}],
        "subtotal_amount": 3000,
        "discount_amount": 0,
        "shipping_discount_amount": 0,
        "total_amount": 3000,
        "cashback_amount": 0,
        "refunded_amount": 2400,
    }


async def test_a_return_never_makes_the_shopper_owe(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    """50.00 off orders of 65.00: returning the 5.00 line loses the whole discount, which is
    worth more than the line; nothing is refunded and the order keeps 45.00 of it."""
    await campaign_with_code(
        client,
        admin,
        "BIG50",
        effects=[{"type": "amount_off", "amounts": {"EUR": 5000}}],
        conditions={"min_subtotal_amounts": {"EUR": 6500}},
    )
    redeemed = await redeem(client, checkout, ["BIG50"], ("a", 1, 6000), ("b", 1, 500))
    assert redeemed["total_amount"] == 1500
    returned = (await give_back(client, checkout, redeemed["id"], ("b", 1))).json()
    assert (returned["refund_amount"], returned["total_amount"]) == (0, 1500)
    assert (returned["discount_amount"], returned["promotions"][0]["given_back_amount"]) == (
        4500,
        500,
    )


async def test_buy_two_get_one_returning_one_of_three_refunds_nothing(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(
        client,
        admin,
        "THREEFORTWO",
        effects=[{"type": "buy_x_get_y", "buy_quantity": 2, "get_quantity": 1}],
    )
    redeemed = await redeem(client, checkout, ["THREEFORTWO"], ("a", 3, 1000))
    assert redeemed["total_amount"] == 2000
    returned = (await give_back(client, checkout, redeemed["id"], ("a", 1))).json()
    assert (returned["discount_amount"], returned["refund_amount"]) == (0, 0)
    again = (await give_back(client, checkout, redeemed["id"], ("a", 1))).json()
    assert (again["total_amount"], again["refund_amount"]) == (1000, 1000)


async def test_shipping_a_lost_free_shipping_threshold_is_charged_from_the_refund(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(
        client,
        admin,
        "FREESHIP",
        effects=[{"type": "shipping_off", "basis_points": 10_000}],
        conditions={"min_subtotal_amounts": {"EUR": 5000}},
    )
    redeemed = await redeem(
        client, checkout, ["FREESHIP"], ("a", 1, 4000), ("b", 1, 2000), shipping=495
    )
    assert (redeemed["shipping_discount_amount"], redeemed["total_amount"]) == (495, 6000)
    returned = (await give_back(client, checkout, redeemed["id"], ("b", 1))).json()
    assert (returned["shipping_discount_amount"], returned["total_amount"]) == (0, 4495)
    assert returned["refund_amount"] == 1505


async def test_balance_codes_keep_paying_up_to_the_new_total_and_the_rest_comes_back(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(client, admin, "TENOFF")
    first = await gift_card(client, admin, 1000)
    second = await gift_card(client, admin, 4000)
    redeemed = await redeem(
        client,
        checkout,
        ["TENOFF"],
        ("a", 1, 3000),
        ("b", 1, 3000),
        balance_codes=[first["code"], second["code"]],
    )
    assert (redeemed["total_amount"], redeemed["paid_amount"], redeemed["amount_due"]) == (
        5400,
        5000,
        400,
    )
    returned = (await give_back(client, checkout, redeemed["id"], ("b", 1))).json()
    # The new total is 27.00: the cards keep paying that much, the last card's payment
    # comes back first, and the 4.00 paid otherwise is refunded by the shop.
    assert returned["refund_amount"] == 2700
    assert returned["balance_refunds"] == [
        {"code": second["code"], "kind": "gift_card", "amount": 2300}
    ]
    assert (returned["balance_refunded_amount"], returned["external_refund_amount"]) == (
        2300,
        400,
    )
    assert await card_balance(client, checkout, first["code"]) == 0
    assert await card_balance(client, checkout, second["code"]) == 2300

    rolled = await client.post(f"/v1/redemptions/{redeemed['id']}/rollback", headers=checkout)
    assert rolled.json()["status"] == "rolled_back"
    assert await card_balance(client, checkout, first["code"]) == 1000
    assert await card_balance(client, checkout, second["code"]) == 4000


async def gift_card(client: AsyncClient, admin: dict[str, str], amount: int) -> dict[str, Any]:
    response = await client.post(
        "/v1/gift-cards", json={"currency": "EUR", "amount": amount}, headers=keyed(admin)
    )
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def card_balance(client: AsyncClient, headers: dict[str, str], code: str) -> int:
    response = await client.post("/v1/gift-cards/lookup", json={"code": code}, headers=headers)
    assert response.status_code == 200, response.text
    amount: int = response.json()["available_amount"]
    return amount


async def test_cashback_and_points_shrink_with_the_order(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(
        client, admin, "BACK5", effects=[PERCENT_10, {"type": "cashback", "basis_points": 500}]
    )
    program = await client.post(
        "/v1/loyalty/programs",
        json={"name": "Club", "currency": "EUR", "earn_rate": {"points": 1, "per_amount": 100}},
        headers=admin,
    )
    program_id = program.json()["id"]
    redeemed = await redeem(
        client,
        checkout,
        ["BACK5"],
        ("a", 1, 2000),
        ("b", 1, 2000),
        customer={"id": "ann"},
        order_id="o-1",
    )
    assert (redeemed["total_amount"], redeemed["cashback_amount"]) == (3600, 180)
    earned = await client.post(
        f"/v1/loyalty/programs/{program_id}/earnings",
        json={"customer_id": "ann", "order_id": "o-1", "amount": 3600, "currency": "EUR"},
        headers=checkout,
    )
    assert earned.json()["points"] == 36

    returned = (await give_back(client, checkout, redeemed["id"], ("b", 1))).json()
    assert returned["refund_amount"] == 1800
    assert returned["cashback_reversed_amount"] == 90
    assert returned["points_reversed"] == [
        {"program_id": program_id, "points": 18, "forgiven_points": 0}
    ]
    [wallet] = (await client.get("/v1/customers/ann/wallets", headers=checkout)).json()["data"]
    assert wallet["pending_amount"] == 90
    member = (
        await client.get(f"/v1/loyalty/programs/{program_id}/members/ann", headers=checkout)
    ).json()
    assert (member["available_points"], member["lifetime_points"]) == (18, 18)

    everything = (await give_back(client, checkout, redeemed["id"], ("a", 1))).json()
    assert everything["order_returned"] is True
    assert (everything["refund_amount"], everything["total_amount"]) == (1800, 0)
    assert everything["cashback_reversed_amount"] == 90
    assert everything["points_reversed"] == [
        {"program_id": program_id, "points": 18, "forgiven_points": 0}
    ]
    [wallet] = (await client.get("/v1/customers/ann/wallets", headers=checkout)).json()["data"]
    assert wallet["pending_amount"] == 0
    member = (
        await client.get(f"/v1/loyalty/programs/{program_id}/members/ann", headers=checkout)
    ).json()
    assert (member["available_points"], member["lifetime_points"]) == (0, 0)
    current = (await client.get(f"/v1/redemptions/{redeemed['id']}", headers=checkout)).json()
    assert current["status"] == "rolled_back"
    assert current["returned"]["refunded_amount"] == 3600


async def test_returns_are_idempotent_and_checked(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(client, admin, "TENOFF")
    redeemed = await redeem(client, checkout, ["TENOFF"], ("a", 2, 1000), ("a", 1, 500))
    first = await give_back(client, checkout, redeemed["id"], ("a", 2), key="ret-1")
    assert first.status_code == 201, first.text
    # A sku's quantity comes from its lines in the cart's order.
    assert first.json()["lines"] == [{"index": 0, "sku": "a", "quantity": 2}]
    again = await give_back(client, checkout, redeemed["id"], ("a", 2), key="ret-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    listed = await client.get(f"/v1/redemptions/{redeemed['id']}/returns", headers=checkout)
    assert listed.json() == {"data": [first.json()]}
    nowhere = await client.get(f"/v1/redemptions/{uuid.uuid4()}/returns", headers=checkout)
    assert nowhere.status_code == 404
    reused = await give_back(client, checkout, redeemed["id"], ("a", 1), key="ret-1")
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")

    named = await client.post(
        f"/v1/redemptions/{redeemed['id']}/returns",
        json={"lines": [{"sku": "a", "quantity": 1, "line": 0}]},
        headers=keyed(checkout),
    )
    assert (named.status_code, named.json()["code"]) == (422, "invalid_return")
    assert "Only 0 of line 0 (sku 'a')" in named.json()["detail"]
    too_many = await give_back(client, checkout, redeemed["id"], ("a", 2))
    assert (too_many.status_code, too_many.json()["code"]) == (422, "invalid_return")
    assert "Only 1 of sku 'a'" in too_many.json()["detail"]
    unknown = await give_back(client, checkout, redeemed["id"], ("zz", 1))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_return")
    missing = await give_back(client, checkout, str(uuid.uuid4()), ("a", 1))
    assert (missing.status_code, missing.json()["code"]) == (404, "redemption_not_found")
    empty = await client.post(
        f"/v1/redemptions/{redeemed['id']}/returns", json={"lines": []}, headers=keyed(checkout)
    )
    assert empty.status_code == 422
    unkeyed = await client.post(
        f"/v1/redemptions/{redeemed['id']}/returns",
        json={"lines": [{"sku": "a", "quantity": 1}]},
        headers=checkout,
    )
    assert unkeyed.status_code in (400, 422)

    await client.post(f"/v1/redemptions/{redeemed['id']}/rollback", headers=checkout)
    after = await give_back(client, checkout, redeemed["id"], ("a", 1))
    assert (after.status_code, after.json()["code"]) == (409, "not_returnable")


async def test_a_hold_is_returned_only_once_redeemed(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    await campaign_with_code(client, admin, "TENOFF")
    held = await client.post(
        "/v1/holds",
        json={
            "codes": ["TENOFF"],
            "order_id": "o-9",
            "cart": {"currency": "EUR", "lines": lines(("a", 1, 1000), ("b", 1, 500))},
        },
        headers=keyed(checkout),
    )
    assert held.status_code == 201, held.text
    refused = await give_back(client, checkout, held.json()["id"], ("a", 1), ("b", 1))
    assert (refused.status_code, refused.json()["code"]) == (409, "not_returnable")
    assert "redeem or release the hold first" in refused.json()["detail"]
    # Once redeemed, it is an order like any other.
    redeemed = await client.post(f"/v1/holds/{held.json()['id']}/redeem", headers=checkout)
    assert redeemed.json()["status"] == "succeeded"
    returned = await give_back(client, checkout, held.json()["id"], ("b", 1))
    assert returned.status_code == 201, returned.text
    assert (returned.json()["total_amount"], returned.json()["refund_amount"]) == (900, 450)


async def counters_and_balances(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every counter, budget and balance an order moves, as the database holds them."""
    queries = {
        "code uses": "SELECT id, used FROM codes ORDER BY id",
        "counter rows": "SELECT code_id, sum(used) FROM code_counters GROUP BY code_id"
        " ORDER BY code_id",
        "customer uses": "SELECT subject, subject_id, customer_id, redemption_count"
        " FROM customer_usages ORDER BY 1, 2, 3",
        "budgets": "SELECT campaign_id, unit, used FROM campaign_budgets ORDER BY 1, 2",
        "period counters": "SELECT campaign_id, per, subject, period, starts, used"
        " FROM period_uses ORDER BY 1, 2, 3, 4, 5",
        "balances": "SELECT a.id, a.kind, a.debt, coalesce(sum(l.remaining), 0),"
        " coalesce(sum(l.amount - l.taken_back)"
        "   FILTER (WHERE l.source = 'earn' AND l.reversed_at IS NULL), 0)"
        " FROM balance_accounts AS a LEFT JOIN ledger_lots AS l ON l.account_id = a.id"
        " GROUP BY a.id ORDER BY a.id",
    }
    return {
        name: [tuple(row) for row in await connection.execute(text(sql))]
        for name, sql in queries.items()
    }


@pytest.mark.parametrize("ending", ["rollback", "returning the rest"])
async def test_partial_returns_then_the_end_of_the_order_restore_every_counter(
    client: AsyncClient,
    admin: dict[str, str],
    checkout: dict[str, str],
    connection: AsyncConnection,
    ending: str,
) -> None:
    limits = {
        "budget": {"max_redemptions": 10, "max_discount": {"EUR": 100_000}},
        "period_limits": [
            {"per": "customer", "period": "day", "limit": 3},
            {"per": "code", "period": "week", "limit": 100},
        ],
        "per_customer_limit": 5,
    }
    await campaign_with_code(
        client,
        admin,
        "SNAP",
        effects=[PERCENT_10, {"type": "cashback", "basis_points": 500}],
        **limits,
    )
    automatic = await client.post(
        "/v1/campaigns",
        json={
            "name": "Five off shoes",
            "trigger": "automatic",
            "effects": [{"type": "percent_off", "basis_points": 500}],
            "target": {"categories": ["shoes"]},
            "budget": {"max_discount": {"EUR": 50_000}},
        },
        headers=admin,
    )
    assert automatic.status_code == 201, automatic.text
    program = await client.post(
        "/v1/loyalty/programs",
        json={"name": "Club", "currency": "EUR", "earn_rate": {"points": 1, "per_amount": 100}},
        headers=admin,
    )
    program_id = program.json()["id"]
    card = await gift_card(client, admin, 3000)

    async def order(order_id: str, **extra: Any) -> dict[str, Any]:
        body = {
            "codes": ["SNAP"],
            "customer": {"id": "ann"},
            "order_id": order_id,
            "cart": {
                "currency": "EUR",
                "shipping_amount": 495,
                "lines": [
                    {
                        "sku": "boots",
                        "quantity": 2,
                        "unit_price_amount": 4999,
                        "categories": ["shoes"],
                    },
                    {"sku": "socks", "quantity": 3, "unit_price_amount": 799},
                    {"sku": "laces", "quantity": 1, "unit_price_amount": 250},
                ],
            },
            **extra,
        }
        response = await client.post("/v1/redeem", json=body, headers=keyed(checkout))
        assert response.status_code == 201, response.text
        earned = await client.post(
            f"/v1/loyalty/programs/{program_id}/earnings",
            json={
                "customer_id": "ann",
                "order_id": order_id,
                "amount": response.json()["amount_due"],
                "currency": "EUR",
            },
            headers=checkout,
        )
        assert earned.status_code == 201, earned.text
        redeemed: dict[str, Any] = response.json()
        return redeemed

    await order("o-kept")  # an order that stays: nothing starts from zero
    before = await counters_and_balances(connection)

    redeemed = await order("o-returned", balance_codes=[card["code"]])
    assert len(redeemed["applied"]) == 2
    assert redeemed["paid_amount"] == 3000
    assert await counters_and_balances(connection) != before
    first = await give_back(client, checkout, redeemed["id"], ("socks", 2), ("boots", 1))
    assert first.status_code == 201, first.text
    assert first.json()["refund_amount"] > 0
    assert first.json()["points_reversed"][0]["points"] > 0
    second = await give_back(client, checkout, redeemed["id"], ("laces", 1))
    assert second.status_code == 201, second.text
    assert second.json()["order_returned"] is False

    if ending == "rollback":
        rolled = await client.post(f"/v1/redemptions/{redeemed['id']}/rollback", headers=checkout)
        assert rolled.json()["status"] == "rolled_back"
    else:
        last = await give_back(client, checkout, redeemed["id"], ("boots", 1), ("socks", 1))
        assert last.json()["order_returned"] is True
        refunded = (
            first.json()["refund_amount"]
            + second.json()["refund_amount"]
            + last.json()["refund_amount"]
        )
        assert refunded == redeemed["total_amount"]
    assert await counters_and_balances(connection) == before
    assert await card_balance(client, checkout, card["code"]) == 3000


async def test_points_earned_after_a_return_lose_the_share_of_what_they_were_earned_on(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    program = await client.post(
        "/v1/loyalty/programs",
        json={"name": "Club", "currency": "EUR", "earn_rate": {"points": 1, "per_amount": 100}},
        headers=admin,
    )
    program_id = program.json()["id"]
    redeemed = await redeem(
        client, checkout, [], ("a", 1, 2500), ("b", 1, 2500), ("c", 2, 2500), order_id="o-5"
    )
    first = (await give_back(client, checkout, redeemed["id"], ("a", 1))).json()
    assert (first["refund_amount"], first["points_reversed"]) == (2500, [])
    # The shop earns once the return window passed, on what was kept: 75.00.
    earned = await client.post(
        f"/v1/loyalty/programs/{program_id}/earnings",
        json={"customer_id": "ann", "order_id": "o-5", "amount": 7500, "currency": "EUR"},
        headers=checkout,
    )
    assert earned.json()["points"] == 75
    second = await client.post(
        f"/v1/redemptions/{redeemed['id']}/returns",
        json={"lines": [{"sku": "c", "quantity": 1, "line": 2}]},
        headers=keyed(checkout),
    )
    assert second.json()["lines"] == [{"index": 2, "sku": "c", "quantity": 1}]
    assert second.json()["points_reversed"] == [
        {"program_id": program_id, "points": 25, "forgiven_points": 0}
    ]
