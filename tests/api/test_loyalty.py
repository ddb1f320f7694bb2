"""Loyalty programs through the API: earning (idempotent per order, pending, tier multipliers),
balances and tiers, rewards, support adjustments, FEFO spending, expiry, reversal."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.api.deps import request_time
from app.domain.api_keys import Scope
from tests.factories import Factory, bearer, cart

START = datetime(2026, 1, 10, 9, tzinfo=UTC)
PROGRAM = {
    "name": "Club",
    "currency": "EUR",
    "earn_rate": {"points": 2, "per_amount": 100},
    "tiers": [
        {"key": "member", "label": "Member", "threshold": 0, "multiplier_percent": 100},
        {"key": "gold", "label": "Gold", "threshold": 1000, "multiplier_percent": 300},
    ],
    "expiry_days": 365,
    "pending_days": 14,
}


class Clock:
    def __init__(self, app: FastAPI) -> None:
        self.now = START

        async def now() -> datetime:
            return self.now

        app.dependency_overrides[request_time] = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    return Clock(app)


@pytest.fixture
async def support(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.SUPPORT, name="agent"))


async def create_program(client: AsyncClient, admin: dict[str, str], **changes: Any) -> str:
    response = await client.post("/v1/loyalty/programs", json=PROGRAM | changes, headers=admin)
    assert response.status_code == 201, response.text
    program_id: str = response.json()["id"]
    return program_id


async def earn(
    client: AsyncClient,
    headers: dict[str, str],
    program: str,
    order: str,
    amount: int,
    **extra: Any,
) -> Any:
    body = {"customer_id": "cus_1", "order_id": order, "amount": amount, "currency": "EUR"}
    return await client.post(
        f"/v1/loyalty/programs/{program}/earnings", json=body | extra, headers=headers
    )


async def balance(client: AsyncClient, headers: dict[str, str], program: str) -> Any:
    response = await client.get(f"/v1/loyalty/programs/{program}/members/cus_1", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def idempotent(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


class TestPrograms:
    async def test_create_read_update_and_archive(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        program = await create_program(client, admin)
        got = await client.get(f"/v1/loyalty/programs/{program}", headers=checkout)
        assert got.status_code == 200
        assert got.json()["tiers"][1] == PROGRAM["tiers"][1]  # type: ignore[index]
        assert got.json()["tier_basis"] == "lifetime"

        patched = await client.patch(
            f"/v1/loyalty/programs/{program}",
            json={"pending_days": 0, "expiry_days": None, "status": "archived"},
            headers=admin,
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["pending_days"], patched.json()["expiry_days"]) == (0, None)
        refused = await earn(client, checkout, program, "o-1", 1000)
        assert (refused.status_code, refused.json()["code"]) == (409, "program_archived")

        listed = await client.get("/v1/loyalty/programs", headers=admin)
        assert [p["id"] for p in listed.json()["data"]] == [program]

    async def test_a_ladder_that_does_not_start_at_zero_is_refused(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        tiers = [{"key": "gold", "label": "Gold", "threshold": 10, "multiplier_percent": 300}]
        response = await client.post(
            "/v1/loyalty/programs", json=PROGRAM | {"tiers": tiers}, headers=admin
        )
        assert (response.status_code, response.json()["code"]) == (422, "invalid_program")

    async def test_unknown_program_and_wrong_scope(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        missing = await client.get(f"/v1/loyalty/programs/{uuid.uuid4()}/members/x", headers=admin)
        assert (missing.status_code, missing.json()["code"]) == (404, "program_not_found")
        forbidden = await client.post("/v1/loyalty/programs", json=PROGRAM, headers=checkout)
        assert forbidden.status_code == 403


class TestEarning:
    async def test_points_are_pending_through_the_return_window(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin)
        earned = await earn(client, checkout, program, "o-1", 4599)
        assert earned.status_code == 201, earned.text
        assert earned.json()["points"] == 91
        assert earned.json()["balance"]["pending_points"] == 91
        assert earned.json()["balance"]["available_points"] == 0

        clock.advance(days=14)
        now = await balance(client, checkout, program)
        assert (now["available_points"], now["pending_points"]) == (91, 0)
        assert now["lifetime_points"] == 91

    async def test_an_order_earns_once(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin)
        first = await earn(client, checkout, program, "o-1", 1000)
        again = await earn(client, checkout, program, "o-1", 1000)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["entry_id"] == first.json()["entry_id"]
        other = await earn(client, checkout, program, "o-1", 2000)
        assert (other.status_code, other.json()["code"]) == (409, "order_already_earned")
        assert (await balance(client, checkout, program))["pending_points"] == 20

    async def test_the_tier_changes_at_the_threshold_and_multiplies_later_orders(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin)
        await earn(client, checkout, program, "o-1", 49_950)  # 999 points
        below = await balance(client, checkout, program)
        assert below["tier"]["key"] == "member"
        assert (below["next_tier"]["key"], below["points_to_next_tier"]) == ("gold", 1)

        await earn(client, checkout, program, "o-2", 50)  # 1 point, still at 1x
        at = await balance(client, checkout, program)
        assert (at["qualifying_points"], at["tier"]["key"]) == (1000, "gold")
        assert at["next_tier"] is None

        third = await earn(client, checkout, program, "o-3", 1000)
        assert (third.json()["points"], third.json()["multiplier_percent"]) == (60, 300)

    async def test_a_rolling_tier_counts_only_the_last_12_months(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin, tier_basis="rolling_12_months")
        await earn(client, checkout, program, "o-1", 50_000)
        assert (await balance(client, checkout, program))["tier"]["key"] == "gold"
        clock.advance(days=370)
        later = await balance(client, checkout, program)
        assert (later["tier"]["key"], later["lifetime_points"]) == ("member", 1000)

    async def test_an_earn_beyond_what_one_credit_may_hold_is_refused(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        tiers = [{"key": "vip", "label": "VIP", "threshold": 0, "multiplier_percent": 10_000}]
        program = await create_program(
            client, admin, earn_rate={"points": 1_000_000, "per_amount": 1}, tiers=tiers
        )
        response = await earn(client, checkout, program, "o-1", 100_000_000_000)
        assert (response.status_code, response.json()["code"]) == (422, "points_limit_exceeded")
        assert (await balance(client, checkout, program))["pending_points"] == 0

    async def test_an_order_in_another_currency_is_refused(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        program = await create_program(client, admin)
        response = await earn(client, checkout, program, "o-1", 1000, currency="USD")
        assert (response.status_code, response.json()["code"]) == (422, "currency_mismatch")

    async def test_a_return_takes_the_points_back_once(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin)
        await earn(client, checkout, program, "o-1", 5000)
        url = f"/v1/loyalty/programs/{program}/orders/o-1/reversal"
        first = await client.post(url, headers=checkout)
        assert first.status_code == 200, first.text
        assert [e["amount"] for e in first.json()["data"]] == [-100]
        again = await client.post(url, headers=checkout)
        assert again.json()["data"] == []
        after = await balance(client, checkout, program)
        assert (after["pending_points"], after["lifetime_points"]) == (0, 0)


class TestSpending:
    async def reward(self, client: AsyncClient, admin: dict[str, str], program: str) -> str:
        response = await client.post(
            f"/v1/loyalty/programs/{program}/rewards",
            json={"name": "5 off", "points_cost": 100, "amount_off": 500, "min_subtotal": 1000},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        reward_id: str = response.json()["id"]
        return reward_id

    async def buy(
        self, client: AsyncClient, headers: dict[str, str], program: str, reward: str
    ) -> Any:
        return await client.post(
            f"/v1/loyalty/programs/{program}/members/cus_1/reward-redemptions",
            json={"reward_id": reward},
            headers=idempotent(headers),
        )

    async def test_points_buy_a_code_bound_to_the_member(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin, pending_days=0)
        reward = await self.reward(client, admin, program)
        await earn(client, checkout, program, "o-1", 7500)  # 150 points
        bought = await self.buy(client, checkout, program, reward)
        assert bought.status_code == 201, bought.text
        assert bought.json()["balance"]["available_points"] == 50
        code = bought.json()["code"]

        body = {"codes": [code], "customer": {"id": "cus_1"}, "cart": cart(("A", 1, 1200))}
        valid = await client.post("/v1/validate", json=body, headers=checkout)
        assert valid.json()["discount_amount"] == 500
        other = body | {"customer": {"id": "cus_2"}}
        mismatch = await client.post("/v1/validate", json=other, headers=checkout)
        assert mismatch.json()["codes"][0]["reason"] == "customer_mismatch"
        small = body | {"cart": cart(("A", 1, 900))}
        short = await client.post("/v1/validate", json=small, headers=checkout)
        assert short.json()["codes"][0]["reason"] == "min_subtotal_not_met"

        refused = await self.buy(client, checkout, program, reward)
        assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_points")
        assert refused.json()["available_points"] == 50

        archived = await client.patch(
            f"/v1/loyalty/programs/{program}/rewards/{reward}",
            json={"status": "archived"},
            headers=admin,
        )
        assert archived.json()["status"] == "archived"
        await earn(client, checkout, program, "o-2", 7500)
        gone = await self.buy(client, checkout, program, reward)
        assert (gone.status_code, gone.json()["code"]) == (409, "reward_archived")
        assert (await client.post("/v1/validate", json=body, headers=checkout)).json()["valid"]

    async def test_spending_takes_the_points_expiring_soonest(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin, pending_days=0, expiry_days=30)
        reward = await self.reward(client, admin, program)
        await earn(client, checkout, program, "o-1", 5000)  # 100, expire day 30
        clock.advance(days=20)
        await earn(client, checkout, program, "o-2", 5000)  # 100, expire day 50
        bought = await self.buy(client, checkout, program, reward)
        assert bought.status_code == 201
        # The balance a spend answers with is the balance it left (computed from its plan,
        # not read back): both lots expire within 30 days, the sooner one paid.
        after = await balance(client, checkout, program)
        assert bought.json()["balance"] == after
        assert (after["available_points"], after["expiring_points"]) == (100, 100)

        clock.advance(days=15)  # day 35: the first lot is past its expiry
        run = await client.post("/v1/expiry-runs", headers=admin)
        assert run.json() == {"accounts": 0, "lots": 0, "amount": 0}
        assert (await balance(client, checkout, program))["available_points"] == 100

    async def test_expiry_writes_entries_once(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        program = await create_program(client, admin, pending_days=0, expiry_days=30)
        await earn(client, checkout, program, "o-1", 5000)
        clock.advance(days=25)
        soon = await balance(client, checkout, program)
        assert (soon["available_points"], soon["expiring_points"]) == (100, 100)
        clock.advance(days=5)
        assert (await balance(client, checkout, program))["available_points"] == 0

        first = await client.post("/v1/expiry-runs", headers=admin)
        assert first.json() == {"accounts": 1, "lots": 1, "amount": 100}
        second = await client.post("/v1/expiry-runs", headers=admin)
        assert second.json() == {"accounts": 0, "lots": 0, "amount": 0}
        history = await client.get(
            f"/v1/loyalty/programs/{program}/members/cus_1/entries", headers=checkout
        )
        assert [(e["kind"], e["amount"]) for e in history.json()["data"]] == [
            ("expire", -100),
            ("earn", 100),
        ]


class TestAdjustments:
    async def test_support_adjusts_with_a_reason_that_is_audited(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        support: dict[str, str],
        clock: Clock,
    ) -> None:
        program = await create_program(client, admin)
        url = f"/v1/loyalty/programs/{program}/members/cus_1/adjustments"
        added = await client.post(
            url, json={"points": 250, "reason": "Goodwill"}, headers=idempotent(support)
        )
        assert added.status_code == 201, added.text
        assert added.json()["balance"]["available_points"] == 250
        assert added.json()["balance"]["qualifying_points"] == 0

        too_many = await client.post(
            url, json={"points": -300, "reason": "Mistake"}, headers=idempotent(support)
        )
        assert (too_many.status_code, too_many.json()["code"]) == (409, "insufficient_points")
        removed = await client.post(
            url, json={"points": -50, "reason": "Mistake"}, headers=idempotent(support)
        )
        assert removed.json()["balance"]["available_points"] == 200

        events = await client.get("/v1/audit-events?customer_id=cus_1", headers=admin)
        assert [(e["action"], e["reason"]) for e in events.json()["data"]] == [
            ("loyalty.points_adjusted", "Mistake"),
            ("loyalty.points_adjusted", "Goodwill"),
        ]
        zero = await client.post(
            url, json={"points": 0, "reason": "Nothing"}, headers=idempotent(support)
        )
        assert zero.status_code == 422
        no_reason = await client.post(url, json={"points": 5}, headers=idempotent(support))
        assert no_reason.status_code == 422
        by_checkout = await client.post(
            url, json={"points": 5, "reason": "Why not"}, headers=idempotent(checkout)
        )
        assert by_checkout.status_code == 403

    async def test_a_return_after_spending_leaves_debt_only_when_allowed(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: Clock
    ) -> None:
        for allow, expected in ((False, 0), (True, -100)):
            program = await create_program(
                client, admin, pending_days=0, allow_negative_balance=allow
            )
            await earn(client, checkout, program, "o-1", 5000)
            url = f"/v1/loyalty/programs/{program}/members/cus_1/adjustments"
            spent = await client.post(
                url, json={"points": -100, "reason": "Spent in store"}, headers=idempotent(admin)
            )
            assert spent.status_code == 201, spent.text
            await client.post(
                f"/v1/loyalty/programs/{program}/orders/o-1/reversal", headers=checkout
            )
            assert (await balance(client, checkout, program))["available_points"] == expected
            if allow:  # the next order pays the debt first
                await earn(client, checkout, program, "o-2", 7500)
                assert (await balance(client, checkout, program))["available_points"] == 50
