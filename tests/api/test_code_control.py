"""One code under control, for support and marketing: switch it off and on, find it by its
text, delete it while it was never used."""

import pytest
from httpx import AsyncClient

from app.domain.api_keys import Scope
from app.services.jobs import Worker
from tests.api.test_checkout import CART, idem, redeem
from tests.api.test_loyalty import create_program, earn
from tests.api.test_pools import generate
from tests.factories import Factory, bearer


@pytest.fixture
async def support(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.SUPPORT, name="agent"))


async def validate(
    client: AsyncClient, headers: dict[str, str], code: str, **extra: object
) -> str | None:
    """The code's verdict reason at /v1/validate; None when it applies."""
    body = {"codes": [code], "cart": CART, **extra}
    response = await client.post("/v1/validate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    reason: str | None = response.json()["codes"][0]["reason"]
    return reason


class TestDisable:
    async def test_a_disabled_code_is_refused_while_its_campaign_runs_on(
        self,
        client: AsyncClient,
        checkout: dict[str, str],
        support: dict[str, str],
        factory: Factory,
    ) -> None:
        campaign = await factory.campaign()
        leaked = await factory.code(campaign, "LEAKED")
        await factory.code(campaign, "KEPT")

        off = await client.post(f"/v1/codes/{leaked.id}/disable", headers=support)
        assert off.status_code == 200, off.text
        assert off.json()["disabled_at"] is not None
        assert await validate(client, checkout, "leaked") == "disabled"
        refused = await redeem(client, checkout, ["LEAKED"])
        assert refused.status_code == 409
        verdict = refused.json()["codes"][0]
        assert (verdict["reason"], verdict["message"]) == (
            "disabled",
            "This code is no longer available.",
        )
        assert (await redeem(client, checkout, ["KEPT"])).status_code == 201

        on = await client.post(f"/v1/codes/{leaked.id}/enable", headers=support)
        assert (on.status_code, on.json()["disabled_at"]) == (200, None)
        assert (await redeem(client, checkout, ["LEAKED"])).status_code == 201
        code = (await client.get(f"/v1/codes/{leaked.id}", headers=support)).json()
        assert (code["redemption_count"], code["disabled_at"]) == (1, None)

    async def test_switching_off_twice_keeps_the_first_time_and_both_are_audited(
        self, client: AsyncClient, support: dict[str, str], admin: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "TWICE")
        first = await client.post(f"/v1/codes/{code.id}/disable", headers=support)
        second = await client.post(f"/v1/codes/{code.id}/disable", headers=support)
        assert second.json()["disabled_at"] == first.json()["disabled_at"]
        await client.post(f"/v1/codes/{code.id}/enable", headers=admin)
        events = (await client.get("/v1/audit-events", headers=admin)).json()["data"]
        actions = [e["action"] for e in events if e["subject_id"] == str(code.id)]
        assert actions == ["code.enabled", "code.disabled", "code.disabled", "code.created"]

    async def test_a_disabled_pool_code_is_not_handed_out_nor_offered(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        support: dict[str, str],
        factory: Factory,
        worker: Worker,
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, worker, campaign.id, count=2)
        codes = (await client.get(f"/v1/campaigns/{campaign.id}/codes", headers=admin)).json()
        for code in codes["data"]:
            await client.post(f"/v1/codes/{code['id']}/disable", headers=support)
        claim = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=support
        )
        assert (claim.status_code, claim.json()["code"]) == (409, "pool_exhausted")

        bound = await factory.code(campaign, "SORRY-ANN", customer_id="ann", max_redemptions=1)
        offered = await client.get("/v1/customers/ann/codes", headers=support)
        assert [c["id"] for c in offered.json()["data"]] == [str(bound.id)]
        await client.post(f"/v1/codes/{bound.id}/disable", headers=support)
        assert (await client.get("/v1/customers/ann/codes", headers=support)).json()["data"] == []

    async def test_checkout_keys_cannot_switch_codes_and_unknown_ids_are_404(
        self,
        client: AsyncClient,
        checkout: dict[str, str],
        support: dict[str, str],
        factory: Factory,
    ) -> None:
        code = await factory.code(await factory.campaign(), "GUARDED")
        forbidden = await client.post(f"/v1/codes/{code.id}/disable", headers=checkout)
        assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
        missing = await client.post(
            "/v1/codes/00000000-0000-4000-8000-000000000000/enable", headers=support
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "code_not_found")


class TestLookup:
    async def test_finds_a_code_by_its_text_in_any_case(
        self, client: AsyncClient, support: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "Summer-10")
        found = await client.post("/v1/codes/lookup", json={"code": "summer-10"}, headers=support)
        assert found.status_code == 200, found.text
        assert (found.json()["id"], found.json()["code"]) == (str(code.id), "Summer-10")

    async def test_unknown_text_is_404_and_checkout_keys_are_refused(
        self, client: AsyncClient, support: dict[str, str], checkout: dict[str, str]
    ) -> None:
        missing = await client.post("/v1/codes/lookup", json={"code": "NOPE"}, headers=support)
        assert (missing.status_code, missing.json()["code"]) == (404, "code_not_found")
        refused = await client.post("/v1/codes/lookup", json={"code": "NOPE"}, headers=checkout)
        assert refused.status_code == 403
        malformed = await client.post("/v1/codes/lookup", json={"code": ""}, headers=support)
        assert (malformed.status_code, malformed.json()["code"]) == (422, "validation_error")


class TestDelete:
    async def test_a_code_never_used_is_deleted_and_gone(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        typo = await factory.code(campaign, "SUMMRE10", max_redemptions=500)
        deleted = await client.delete(f"/v1/codes/{typo.id}", headers=admin)
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert (await client.get(f"/v1/codes/{typo.id}", headers=admin)).status_code == 404
        assert await validate(client, checkout, "SUMMRE10") == "not_found"
        again = await client.delete(f"/v1/codes/{typo.id}", headers=admin)
        assert (again.status_code, again.json()["code"]) == (404, "code_not_found")
        # The text is free again.
        await factory.code(campaign, "SUMMRE10")

    async def test_a_code_with_any_redemption_is_kept_even_after_rollback(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "USED")
        redeemed = await redeem(client, checkout, ["USED"])
        rollback = f"/v1/redemptions/{redeemed.json()['id']}/rollback"
        assert (await client.post(rollback, headers=checkout)).status_code == 200
        kept = await client.delete(f"/v1/codes/{code.id}", headers=admin)
        assert (kept.status_code, kept.json()["code"]) == (409, "code_in_use")
        assert f"/v1/codes/{code.id}/disable" in kept.json()["detail"]
        assert (await client.get(f"/v1/codes/{code.id}", headers=admin)).status_code == 200

    async def test_a_reward_code_paid_for_with_points_is_kept(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        program = await create_program(client, admin, pending_days=0)
        reward = await client.post(
            f"/v1/loyalty/programs/{program}/rewards",
            json={"name": "5 off", "points_cost": 100, "amount_off": 500},
            headers=admin,
        )
        assert reward.status_code == 201, reward.text
        await earn(client, checkout, program, "o-1", 5000)  # 100 points
        bought = await client.post(
            f"/v1/loyalty/programs/{program}/members/cus_1/reward-redemptions",
            json={"reward_id": reward.json()["id"]},
            headers={**checkout, **idem()},
        )
        assert bought.status_code == 201, bought.text
        found = await client.post(
            "/v1/codes/lookup", json={"code": bought.json()["code"]}, headers=admin
        )
        kept = await client.delete(f"/v1/codes/{found.json()['id']}", headers=admin)
        assert (kept.status_code, kept.json()["code"]) == (409, "code_in_use")

    async def test_only_admin_keys_delete(
        self, client: AsyncClient, support: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "ADMINONLY")
        refused = await client.delete(f"/v1/codes/{code.id}", headers=support)
        assert refused.status_code == 403


class TestEdit:
    async def test_a_named_code_s_limit_moves_but_never_below_its_uses(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "MOVING", max_redemptions=500)
        for _ in range(3):
            assert (await redeem(client, checkout, ["MOVING"])).status_code == 201
        url = f"/v1/codes/{code.id}"

        lowered = await client.patch(url, json={"max_redemptions": 4}, headers=admin)
        assert lowered.status_code == 200, lowered.text
        assert (lowered.json()["max_redemptions"], lowered.json()["redemption_count"]) == (4, 3)
        assert (await redeem(client, checkout, ["MOVING"])).status_code == 201
        spent = await redeem(client, checkout, ["MOVING"])
        assert spent.json()["codes"][0]["reason"] == "limit_reached"

        below = await client.patch(url, json={"max_redemptions": 3}, headers=admin)
        assert (below.status_code, below.json()["code"]) == (422, "invalid_code_terms")
        assert "redeemed 4 times" in below.json()["detail"]

        unlimited = await client.patch(url, json={"max_redemptions": None}, headers=admin)
        assert unlimited.json()["max_redemptions"] is None
        assert (await redeem(client, checkout, ["MOVING"])).status_code == 201
        assert (await client.get(url, headers=admin)).json()["redemption_count"] == 5

    async def test_expiry_customer_and_per_customer_limit_change_only_when_sent(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], factory: Factory
    ) -> None:
        code = await factory.code(await factory.campaign(), "EDITED", per_customer_limit=1)
        url = f"/v1/codes/{code.id}"
        bound = await client.patch(url, json={"customer_id": "ann"}, headers=admin)
        assert bound.status_code == 200, bound.text
        assert (bound.json()["customer_id"], bound.json()["per_customer_limit"]) == ("ann", 1)
        assert await validate(client, checkout, "EDITED", customer={"id": "bob"}) == (
            "customer_mismatch"
        )
        past = await client.patch(url, json={"expires_at": "2020-01-01T00:00:00Z"}, headers=admin)
        assert past.json()["customer_id"] == "ann"
        assert await validate(client, checkout, "EDITED", customer={"id": "ann"}) == "expired"
        cleared = await client.patch(
            url, json={"expires_at": None, "customer_id": None}, headers=admin
        )
        assert (cleared.json()["expires_at"], cleared.json()["customer_id"]) == (None, None)
        assert await validate(client, checkout, "EDITED", customer={"id": "bob"}) is None
        unchanged = await client.patch(url, json={}, headers=admin)
        assert unchanged.json() == cleared.json()

    async def test_a_pool_code_keeps_its_claim_s_customer(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, worker, campaign.id, count=1)
        claimed = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=admin
        )
        url = f"/v1/codes/{claimed.json()['id']}"
        moved = await client.patch(url, json={"customer_id": "bob"}, headers=admin)
        assert (moved.status_code, moved.json()["code"]) == (422, "invalid_code_terms")
        assert moved.json()["fields"] == ["customer_id"]
        raised = await client.patch(url, json={"max_redemptions": 2}, headers=admin)
        assert raised.json()["max_redemptions"] == 2
