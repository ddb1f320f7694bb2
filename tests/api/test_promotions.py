"""The full engine through HTTP: automatic promotions, targets, markets, schedules, BOGO,
shipping, stacking, and redeem/rollback of what they consume."""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from app.api.deps import request_time
from app.domain.benefits import AmountOff, BuyXGetY, Cashback, PercentOff, ShippingOff
from app.domain.campaigns import Trigger
from app.domain.conditions import Conditions, Schedule, Target
from app.domain.rules import Stacking
from tests.factories import Factory


def body(
    *lines: tuple[str, int, int, list[str]], shipping: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "cart": {
            "currency": extra.pop("currency", "EUR"),
            "shipping_amount": shipping,
            "lines": [
                {"sku": sku, "quantity": q, "unit_price_amount": p, "categories": c}
                for sku, q, p, c in lines
            ],
        },
        **extra,
    }


class TestAutomaticPromotions:
    async def test_free_shipping_over_50_says_how_close_the_cart_is(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(
            ShippingOff(),
            name="Free shipping over 50",
            trigger=Trigger.AUTOMATIC,
            conditions=Conditions(min_subtotal_amounts={"EUR": 5000}),
        )
        small = (
            await client.post(
                "/v1/validate", json=body(("a", 1, 4550, []), shipping=495), headers=checkout
            )
        ).json()
        [skipped] = [s for s in small["skipped"] if s["campaign_id"] == str(campaign.id)]
        assert skipped["reason"] == "min_subtotal_not_met"
        assert skipped["shortfall"] == {"amount": 450, "quantity": None}
        assert "Add 4.50 EUR more" in skipped["message"]
        big = (
            await client.post(
                "/v1/validate", json=body(("a", 1, 5000, []), shipping=495), headers=checkout
            )
        ).json()
        assert big["shipping_discount_amount"] == 495
        assert big["total_amount"] == 5000
        assert [a["campaign_name"] for a in big["applied"]] == ["Free shipping over 50"]

    async def test_paused_automatic_promotion_disappears_at_once(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(PercentOff(1000), trigger=Trigger.AUTOMATIC)
        before = (
            await client.post("/v1/validate", json=body(("a", 1, 1000, [])), headers=checkout)
        ).json()
        assert before["discount_amount"] == 100
        await client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
        after = (
            await client.post("/v1/validate", json=body(("a", 1, 1000, [])), headers=checkout)
        ).json()
        assert after["discount_amount"] == 0

    async def test_redeem_consumes_and_rollback_restores_an_automatic_limit(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        await factory.campaign(
            AmountOff({"EUR": 500}), trigger=Trigger.AUTOMATIC, per_customer_limit=1
        )
        order = body(("a", 1, 2000, []), customer={"id": "alice"})

        async def redeem() -> dict[str, Any]:
            response = await client.post(
                "/v1/redeem", json=order, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
            )
            assert response.status_code == 201, response.text
            result: dict[str, Any] = response.json()
            return result

        first = await redeem()
        assert first["discount_amount"] == 500
        second = await redeem()
        assert second["discount_amount"] == 0
        assert second["skipped"][0]["reason"] == "customer_limit_reached"
        await client.post(f"/v1/redemptions/{first['id']}/rollback", headers=checkout)
        assert (await redeem())["discount_amount"] == 500


class TestPlaybookThroughTheApi:
    async def test_welcome_excludes_low_margin_items(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(
            PercentOff(1500), target=Target(exclude_categories=frozenset({"low_margin"}))
        )
        await factory.code(campaign, "WELCOME15")
        result = (
            await client.post(
                "/v1/validate",
                json=body(
                    ("shirt", 2, 2000, ["apparel"]),
                    ("gift-card", 1, 5000, ["low_margin"]),
                    ("socks", 1, 500, []),
                    codes=["welcome15"],
                ),
                headers=checkout,
            )
        ).json()
        assert [line["discount_amount"] for line in result["lines"]] == [600, 0, 75]
        assert result["lines"][0]["unit_discounts"] == [{"quantity": 2, "amount": 300}]
        assert result["lines"][0]["discounts"] == [
            {"campaign_id": str(campaign.id), "code": "welcome15", "amount": 600}
        ]

    async def test_french_campaign_refused_for_an_english_market_cart(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(
            PercentOff(1000), conditions=Conditions(markets=frozenset({"FR"}))
        )
        await factory.code(campaign, "BONJOUR")
        english = (
            await client.post(
                "/v1/validate",
                json=body(("a", 1, 1000, []), codes=["BONJOUR"], market="GB", locale="en-GB"),
                headers=checkout,
            )
        ).json()
        assert english["codes"][0]["reason"] == "market_not_eligible"
        french = (
            await client.post(
                "/v1/validate",
                json=body(("a", 1, 1000, []), codes=["BONJOUR"], market="FR"),
                headers=checkout,
            )
        ).json()
        assert french["discount_amount"] == 100

    async def test_friday_evening_only(
        self, app: FastAPI, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        schedule = Schedule("Europe/Paris", frozenset({5}), 18 * 60, 23 * 60)
        campaign = await factory.campaign(
            PercentOff(2000), conditions=Conditions(schedule=schedule)
        )
        await factory.code(campaign, "FRIDAY")
        for moment, reason in (
            (datetime(2026, 11, 27, 17, 30, tzinfo=UTC), None),
            (datetime(2026, 11, 28, 17, 30, tzinfo=UTC), "outside_schedule"),
        ):
            app.dependency_overrides[request_time] = lambda moment=moment: moment
            result = (
                await client.post(
                    "/v1/validate",
                    json=body(("a", 1, 1000, []), codes=["FRIDAY"]),
                    headers=checkout,
                )
            ).json()
            assert result["codes"][0]["reason"] == reason

    async def test_bogo_and_apology_with_free_shipping(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        bogo = await factory.campaign(BuyXGetY(1, 1))
        await factory.code(bogo, "BOGO")
        apology = await factory.campaign(AmountOff({"EUR": 1000}), ShippingOff())
        await factory.code(apology, "SORRY-ALICE", customer_id="alice", max_redemptions=1)
        cart = body(
            ("a", 1, 3000, []),
            ("b", 1, 1000, []),
            shipping=495,
            codes=["BOGO", "SORRY-ALICE"],
            customer={"id": "alice"},
        )
        result = (await client.post("/v1/validate", json=cart, headers=checkout)).json()
        assert [c["valid"] for c in result["codes"]] == [True, True]
        assert result["discount_amount"] == 1000 + 1000  # b free, then 10.00 off what was left
        assert result["shipping_discount_amount"] == 495
        assert result["total_amount"] == 2000

    async def test_cashback_is_reported_and_recorded(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(Cashback(1500))
        await factory.code(campaign, "BACK15")
        response = await client.post(
            "/v1/redeem",
            json=body(("a", 1, 4000, []), codes=["BACK15"]),
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.json()["cashback_amount"] == 600
        assert response.json()["total_amount"] == 4000


class TestStackingThroughTheApi:
    async def test_exclusive_code_refuses_the_other_and_redeem_follows_the_policy(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        vip = await factory.campaign(
            PercentOff(3000), stacking=Stacking(priority=10, is_exclusive=True)
        )
        await factory.code(vip, "VIP30")
        other = await factory.campaign(AmountOff({"EUR": 500}))
        await factory.code(other, "FIVE")
        validation = (
            await client.post(
                "/v1/validate",
                json=body(("a", 1, 10_000, []), codes=["FIVE", "VIP30"]),
                headers=checkout,
            )
        ).json()
        assert [c["reason"] for c in validation["codes"]] == ["not_combinable", None]
        strict = {
            **body(("a", 1, 10_000, []), codes=["FIVE", "VIP30"]),
            "code_policy": "all_or_nothing",
        }
        redeem = await client.post(
            "/v1/redeem", json=strict, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert redeem.status_code == 409
        assert "FIVE: not_combinable" in redeem.json()["detail"]
        # By default a code left out only by stacking is reported, not consumed.
        redeemed = await client.post(
            "/v1/redeem",
            json=body(("a", 1, 10_000, []), codes=["FIVE", "VIP30"]),
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert redeemed.status_code == 201, redeemed.text
        assert redeemed.json()["consumed_codes"] == ["VIP30"]
        assert [c["reason"] for c in redeemed.json()["codes"]] == ["not_combinable", None]
