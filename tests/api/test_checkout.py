"""The checkout slice end to end: validate, redeem, replay, refuse, roll back."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response

from app.api.deps import request_time
from app.clock import utc_now
from app.domain.benefits import AmountOff, PercentOff
from app.domain.conditions import Conditions
from tests.factories import Factory, cart

CART = cart(("shirt", 2, 1999), ("socks", 1, 500))  # 44.98 EUR


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def code_count(client: AsyncClient, admin: dict[str, str], code_id: uuid.UUID) -> int:
    count: int = (await client.get(f"/v1/codes/{code_id}", headers=admin)).json()[
        "redemption_count"
    ]
    return count


async def redeem(
    client: AsyncClient, headers: dict[str, str], codes: list[str], **extra: Any
) -> Response:
    body = {"codes": codes, "cart": extra.pop("cart", CART), **extra}
    return await client.post("/v1/redeem", json=body, headers={**headers, **idem()})


class TestValidate:
    async def test_valid_code_explains_discount_lines_and_totals(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(PercentOff(1000, max_amounts={"EUR": 2000}))
        await factory.code(campaign, "SUMMER10")
        response = await client.post(
            "/v1/validate", json={"codes": [" summer10"], "cart": CART}, headers=checkout
        )
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is True
        assert (body["subtotal_amount"], body["discount_amount"], body["total_amount"]) == (
            4498,
            450,
            4048,
        )
        assert [line["discount_amount"] for line in body["lines"]] == [400, 50]
        assert sum(line["total_amount"] for line in body["lines"]) == body["total_amount"]
        assert body["codes"][0] | {"campaign_id": None} == {
            "code": " summer10",
            "valid": True,
            "reason": None,
            "message": "The code applies.",
            "campaign_id": None,
            "discount_amount": 450,
            "shortfall": None,
            "uses_left": None,  # nothing caps it
        }
        assert body["codes"][0]["campaign_id"] == str(campaign.id)

    async def test_refusals_carry_reason_message_and_shortfall(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(
            PercentOff(5000), conditions=Conditions(min_subtotal_amounts={"EUR": 5000})
        )
        await factory.code(campaign, "HALF")
        body = (
            await client.post(
                "/v1/validate", json={"codes": ["HALF", "NOPE"], "cart": CART}, headers=checkout
            )
        ).json()
        half, nope = body["codes"]
        assert (half["reason"], half["shortfall"]) == (
            "min_subtotal_not_met",
            {"amount": 502, "quantity": None},
        )
        assert "5.02 EUR" in half["message"]
        assert nope["reason"] == "not_found"
        assert body["valid"] is False
        assert body["discount_amount"] == 0

    async def test_currency_customer_and_time_reasons(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        now = utc_now()
        eur = await factory.campaign(AmountOff({"EUR": 500}))
        await factory.code(eur, "EURONLY")
        await factory.code(eur, "MINE", customer_id="cus_1")
        await factory.code(eur, "OLD", expires_at=now - timedelta(days=1))
        later = await factory.campaign(PercentOff(1000), starts_at=now + timedelta(days=1))
        await factory.code(later, "SOON")
        cases = {
            ("EURONLY", "USD", None): "currency_mismatch",
            ("MINE", "EUR", "cus_2"): "customer_mismatch",
            ("MINE", "EUR", None): "customer_required",
            ("OLD", "EUR", None): "expired",
            ("SOON", "EUR", None): "not_started",
        }
        for (code, currency, customer), reason in cases.items():
            body: dict[str, Any] = {
                "codes": [code],
                "cart": cart(("a", 1, 1000), currency=currency),
            }
            if customer:
                body["customer"] = {"id": customer}
            result = (await client.post("/v1/validate", json=body, headers=checkout)).json()
            assert result["codes"][0]["reason"] == reason, code

    async def test_validate_never_changes_a_counter(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        code = await factory.code(campaign, "ONCE", max_redemptions=1)
        for _ in range(3):
            result = await client.post(
                "/v1/validate", json={"codes": ["ONCE"], "cart": CART}, headers=checkout
            )
            assert result.json()["valid"] is True
        assert await code_count(client, admin, code.id) == 0

    async def test_clock_decides_time_windows(
        self, app: FastAPI, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        start = datetime(2030, 1, 1, tzinfo=UTC)
        campaign = await factory.campaign(starts_at=start, ends_at=start + timedelta(days=1))
        await factory.code(campaign, "NEWYEAR")
        body = {"codes": ["NEWYEAR"], "cart": CART}
        for moment, reason in (
            (start - timedelta(seconds=1), "not_started"),
            (start, None),
            (start + timedelta(days=1), "expired"),
        ):
            app.dependency_overrides[request_time] = lambda moment=moment: moment
            result = (await client.post("/v1/validate", json=body, headers=checkout)).json()
            assert result["codes"][0]["reason"] == reason


class TestRedeem:
    async def test_redeem_consumes_and_records(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(AmountOff({"EUR": 1000}))
        code = await factory.code(campaign, "TENOFF", max_redemptions=2)
        response = await redeem(
            client, checkout, ["tenoff"], order_id="order-1", customer={"id": "cus_1"}
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["status"], body["order_id"], body["discount_amount"]) == (
            "succeeded",
            "order-1",
            1000,
        )
        assert await code_count(client, admin, code.id) == 1
        fetched = await client.get(f"/v1/redemptions/{body['id']}", headers=checkout)
        assert fetched.json() == body

    async def test_limit_is_enforced(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        code = await factory.code(campaign, "TWICE", max_redemptions=2)
        statuses = [(await redeem(client, checkout, ["TWICE"])).status_code for _ in range(3)]
        assert statuses == [201, 201, 409]
        assert await code_count(client, admin, code.id) == 2

    async def test_refusal_is_a_409_problem_listing_each_code(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await factory.code(campaign, "GOOD")
        response = await redeem(client, checkout, ["GOOD", "MISSING"])
        assert response.status_code == 409
        problem = response.json()
        assert problem["code"] == "redemption_refused"
        assert "MISSING: not_found" in problem["detail"]
        assert [c["reason"] for c in problem["codes"]] == [None, "not_found"]

    async def test_all_or_nothing(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        good = await factory.code(campaign, "GOOD")
        await factory.code(campaign, "SPENT", max_redemptions=1)
        assert (await redeem(client, checkout, ["SPENT"])).status_code == 201
        assert (await redeem(client, checkout, ["GOOD", "SPENT"])).status_code == 409
        assert await code_count(client, admin, good.id) == 0

    async def test_per_customer_limit_of_code_and_campaign(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        per_code = await factory.campaign()
        await factory.code(per_code, "ONEEACH", per_customer_limit=1)
        per_campaign = await factory.campaign(per_customer_limit=1)
        await factory.code(per_campaign, "WELCOME-A")
        await factory.code(per_campaign, "WELCOME-B")
        alice, bob = {"id": "alice"}, {"id": "bob"}
        assert (await redeem(client, checkout, ["ONEEACH"], customer=alice)).status_code == 201
        again = await redeem(client, checkout, ["ONEEACH"], customer=alice)
        assert again.json()["codes"][0]["reason"] == "customer_limit_reached"
        assert (await redeem(client, checkout, ["ONEEACH"], customer=bob)).status_code == 201
        assert (await redeem(client, checkout, ["WELCOME-A"], customer=alice)).status_code == 201
        other = await redeem(client, checkout, ["WELCOME-B"], customer=alice)
        assert other.json()["codes"][0]["reason"] == "customer_limit_reached"
        anonymous = await redeem(client, checkout, ["WELCOME-B"])
        assert anonymous.json()["codes"][0]["reason"] == "customer_required"

    async def test_paused_campaign_is_refused_at_once_and_resumes(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await factory.code(campaign, "VIRAL")
        await client.post(f"/v1/campaigns/{campaign.id}/pause", headers=admin)
        validation = await client.post(
            "/v1/validate", json={"codes": ["VIRAL"], "cart": CART}, headers=checkout
        )
        assert validation.json()["codes"][0]["reason"] == "paused"
        assert (await redeem(client, checkout, ["VIRAL"])).json()["codes"][0]["reason"] == "paused"
        await client.post(f"/v1/campaigns/{campaign.id}/resume", headers=admin)
        assert (await redeem(client, checkout, ["VIRAL"])).status_code == 201

    async def test_bound_code_only_for_its_customer(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(AmountOff({"EUR": 1000}))
        await factory.code(campaign, "SORRY-ALICE", customer_id="alice", max_redemptions=1)
        wrong = await redeem(client, checkout, ["SORRY-ALICE"], customer={"id": "bob"})
        assert wrong.json()["codes"][0]["reason"] == "customer_mismatch"
        assert (
            await redeem(client, checkout, ["SORRY-ALICE"], customer={"id": "alice"})
        ).status_code == 201


class TestIdempotency:
    async def test_same_key_same_body_replays_the_first_answer(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        code = await factory.code(campaign, "RETRY")
        headers = {**checkout, **idem()}
        body = {"codes": ["RETRY"], "cart": CART, "order_id": "o-1"}
        first = await client.post("/v1/redeem", json=body, headers=headers)
        # Same request with keys in another order: still the same request.
        reordered = {"order_id": "o-1", "cart": CART, "codes": ["RETRY"]}
        second = await client.post("/v1/redeem", json=reordered, headers=headers)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await code_count(client, admin, code.id) == 1

    async def test_same_key_other_body_is_409(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await factory.code(campaign, "RETRY")
        headers = {**checkout, **idem()}
        await client.post("/v1/redeem", json={"codes": ["RETRY"], "cart": CART}, headers=headers)
        other = await client.post(
            "/v1/redeem", json={"codes": ["RETRY"], "cart": cart(("a", 1, 1))}, headers=headers
        )
        assert other.status_code == 409
        assert other.json()["code"] == "idempotency_key_reused"

    async def test_refusal_is_replayed_too(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        headers = {**checkout, **idem()}
        body = {"codes": ["NOT-YET"], "cart": CART}
        first = await client.post("/v1/redeem", json=body, headers=headers)
        campaign = await factory.campaign()
        await factory.code(campaign, "NOT-YET")
        second = await client.post("/v1/redeem", json=body, headers=headers)
        assert first.status_code == second.status_code == 409
        assert second.json()["codes"] == first.json()["codes"]
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers

    async def test_replay_after_rollback_shows_it_rolled_back(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        code = await factory.code(campaign, "ONCE", max_redemptions=1)
        headers = {**checkout, **idem()}
        body = {"codes": ["ONCE"], "cart": CART, "order_id": "o-9"}
        first = await client.post("/v1/redeem", json=body, headers=headers)
        assert first.json()["status"] == "succeeded"
        rollback = f"/v1/redemptions/{first.json()['id']}/rollback"
        assert (await client.post(rollback, headers=checkout)).status_code == 200
        # Another shopper takes the use that came back.
        assert (await redeem(client, checkout, ["ONCE"])).status_code == 201

        replay = await client.post("/v1/redeem", json=body, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        shown = replay.json()
        assert shown["id"] == first.json()["id"]
        assert shown["status"] == "rolled_back"
        assert shown["rolled_back_at"] is not None
        assert await code_count(client, admin, code.id) == 1

    async def test_key_is_required_and_bounded(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        body = {"codes": ["X"], "cart": CART}
        missing = await client.post("/v1/redeem", json=body, headers=checkout)
        assert missing.status_code == 400
        assert missing.json()["code"] == "idempotency_key_required"
        too_long = await client.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "k" * 256}
        )
        assert too_long.status_code == 422


class TestRollback:
    async def test_rollback_gives_back_exactly_once(
        self, client: AsyncClient, checkout: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign(per_customer_limit=1)
        code = await factory.code(campaign, "ONE", max_redemptions=1, per_customer_limit=1)
        other = await factory.code(campaign, "OTHER", max_redemptions=5)
        first = (await redeem(client, checkout, ["ONE"], customer={"id": "alice"})).json()
        assert await code_count(client, admin, code.id) == 1
        blocked = await redeem(client, checkout, ["OTHER"], customer={"id": "alice"})
        assert blocked.json()["codes"][0]["reason"] == "customer_limit_reached"

        rolled = await client.post(f"/v1/redemptions/{first['id']}/rollback", headers=checkout)
        assert rolled.status_code == 200
        assert rolled.json()["status"] == "rolled_back"
        assert rolled.json()["rolled_back_at"]
        again = await client.post(f"/v1/redemptions/{first['id']}/rollback", headers=checkout)
        assert again.json() == rolled.json()
        assert await code_count(client, admin, code.id) == 0

        # Both the code's limit and the customer's campaign limit came back, once.
        assert (
            await redeem(client, checkout, ["OTHER"], customer={"id": "alice"})
        ).status_code == 201
        assert await code_count(client, admin, other.id) == 1
        assert await code_count(client, admin, code.id) == 0

    async def test_unknown_redemption_is_404(
        self, client: AsyncClient, checkout: dict[str, str]
    ) -> None:
        missing = "00000000-0000-0000-0000-000000000000"
        for response in (
            await client.get(f"/v1/redemptions/{missing}", headers=checkout),
            await client.post(f"/v1/redemptions/{missing}/rollback", headers=checkout),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "redemption_not_found"


class TestTheBodiesAreWhatTheSpecSays:
    """Services answer with typed results; the response models in api/schemas describe them.
    Each body must have exactly the model's fields, at every level."""

    async def test_validate_redeem_and_rollback(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        from pydantic import BaseModel

        from app.api.schemas.checkout import Redemption, Validation

        def same_fields(model: type[BaseModel], body: Any) -> None:
            assert set(body) == set(model.model_fields), model.__name__
            model.model_validate(body)
            for name, field in model.model_fields.items():
                inner = getattr(field.annotation, "__args__", (field.annotation,))
                nested = [t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)]
                if nested and isinstance(body[name], list):
                    for item in body[name]:
                        same_fields(nested[0], item)
                elif nested and isinstance(body[name], dict):
                    same_fields(nested[0], body[name])

        campaign = await factory.campaign(PercentOff(1000))
        await factory.code(campaign, "TYPED10")
        body = {"codes": ["TYPED10", "NOPE"], "cart": CART, "customer": {"id": "c"}}
        validated = await client.post("/v1/validate", json=body, headers=checkout)
        same_fields(Validation, validated.json())
        redeemed = await redeem(client, checkout, ["TYPED10"])
        same_fields(Redemption, redeemed.json())
        rolled = await client.post(
            f"/v1/redemptions/{redeemed.json()['id']}/rollback", headers=checkout
        )
        same_fields(Redemption, rolled.json())
        assert rolled.json()["created_at"].endswith("Z")
