"""Redeeming several codes when some do not apply: the request's code_policy decides, codes
left out are reported and never consumed, and consumed_codes says what was."""

import uuid
from typing import Any

from httpx import AsyncClient, Response

from app.domain.benefits import AmountOff, Cashback, PercentOff
from app.domain.rules import Stacking
from tests.api.test_checkout import code_count
from tests.api.test_promotions import body
from tests.factories import Factory

LINE: tuple[str, int, int, list[str]] = ("a", 1, 1000, [])  # 10.00 EUR


async def redeem(
    client: AsyncClient, checkout: dict[str, str], codes: list[str], **extra: Any
) -> Response:
    return await client.post(
        "/v1/redeem",
        json=body(LINE, codes=codes, **extra),
        headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
    )


async def test_a_code_with_nothing_left_to_discount_is_skipped_not_consumed(
    client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
) -> None:
    first = Stacking(priority=10)
    whole = await factory.code(
        await factory.campaign(AmountOff({"EUR": 5000}), stacking=first), "ALLOFIT"
    )
    extra = await factory.code(await factory.campaign(PercentOff(1000)), "TENMORE")

    redeemed = await redeem(client, checkout, ["ALLOFIT", "TENMORE"])
    assert redeemed.status_code == 201, redeemed.text
    answer = redeemed.json()
    assert answer["consumed_codes"] == ["ALLOFIT"]
    assert [(c["code"], c["reason"]) for c in answer["codes"]] == [
        ("ALLOFIT", None),
        ("TENMORE", "nothing_to_discount"),
    ]
    assert (answer["valid"], answer["total_amount"]) == (False, 0)
    assert await code_count(client, admin, whole.id) == 1
    assert await code_count(client, admin, extra.id) == 0

    rollback = f"/v1/redemptions/{answer['id']}/rollback"
    rolled_back = await client.post(rollback, headers=checkout)
    assert rolled_back.json()["consumed_codes"] == ["ALLOFIT"]
    assert await code_count(client, admin, whole.id) == 0
    assert await code_count(client, admin, extra.id) == 0

    strict = await redeem(client, checkout, ["ALLOFIT", "TENMORE"], code_policy="all_or_nothing")
    assert strict.status_code == 409
    assert "TENMORE: nothing_to_discount" in strict.json()["detail"]


async def test_a_code_refused_for_its_own_reasons_refuses_unless_asked_otherwise(
    client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
) -> None:
    good = await factory.code(await factory.campaign(AmountOff({"EUR": 100})), "GOOD")
    await factory.code(await factory.campaign(AmountOff({"EUR": 200})), "SPENT", max_redemptions=1)
    assert (await redeem(client, checkout, ["SPENT"])).status_code == 201

    refused = await redeem(client, checkout, ["GOOD", "SPENT"])
    assert refused.status_code == 409
    assert [c["reason"] for c in refused.json()["codes"]] == [None, "limit_reached"]
    assert await code_count(client, admin, good.id) == 0

    skipping = await redeem(
        client, checkout, ["GOOD", "SPENT", "NOSUCH"], code_policy="skip_refused"
    )
    assert skipping.status_code == 201, skipping.text
    assert skipping.json()["consumed_codes"] == ["GOOD"]
    reasons = [c["reason"] for c in skipping.json()["codes"]]
    assert reasons == [None, "limit_reached", "not_found"]
    assert await code_count(client, admin, good.id) == 1

    nothing = await redeem(client, checkout, ["SPENT", "NOSUCH"], code_policy="skip_refused")
    assert nothing.status_code == 409


async def test_an_unknown_code_left_out_still_counts_as_a_failed_guess(
    client: AsyncClient, checkout: dict[str, str], factory: Factory
) -> None:
    await factory.code(await factory.campaign(AmountOff({"EUR": 100})), "REAL")
    guesses = [f"GUESS{i}" for i in range(10)]
    for guess in guesses:
        response = await redeem(
            client,
            checkout,
            ["REAL", guess],
            code_policy="skip_refused",
            customer={"id": "prober"},
        )
        assert response.status_code == 201, response.text
    blocked = await redeem(client, checkout, ["REAL"], customer={"id": "prober"})
    assert (blocked.status_code, blocked.json()["code"]) == (429, "too_many_failed_guesses")


async def test_the_transaction_path_follows_the_policy_too(
    client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
) -> None:
    """Cashback is credited in a transaction: the same policy holds there."""
    back = await factory.code(
        await factory.campaign(Cashback(1000), stacking=Stacking(priority=20)), "BACK10"
    )
    whole = await factory.code(
        await factory.campaign(AmountOff({"EUR": 5000}), stacking=Stacking(priority=10)), "WHOLE"
    )
    await factory.code(await factory.campaign(PercentOff(500)), "FIVEMORE")
    redeemed = await redeem(
        client, checkout, ["BACK10", "WHOLE", "FIVEMORE"], customer={"id": "ann"}
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["consumed_codes"] == ["BACK10", "WHOLE"]
    assert redeemed.json()["codes"][2]["reason"] == "nothing_to_discount"
    assert redeemed.json()["cashback_credit"]["amount"] == 100
    assert await code_count(client, admin, back.id) == await code_count(client, admin, whole.id)
