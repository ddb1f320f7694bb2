from typing import Any

from httpx import AsyncClient

from app.domain.api_keys import Scope
from tests.api.test_loyalty import create_program
from tests.factories import Factory, bearer, cart

PERCENT = {"type": "percent_off", "basis_points": 1500}


async def create(client: AsyncClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Welcome", "effects": [PERCENT], **fields}
    response = await client.post("/v1/campaigns", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class TestCampaigns:
    async def test_create_read_and_list(self, client: AsyncClient, admin: dict[str, str]) -> None:
        created = await create(
            client,
            admin,
            effects=[PERCENT, {"type": "shipping_off"}],
            target={"exclude_categories": ["low_margin"]},
            conditions={
                "min_subtotal_amounts": {"EUR": 3000, "JPY": 4000},
                "markets": ["FR"],
                "schedule": {"timezone": "Europe/Paris", "days": [5], "start_time": "18:00"},
            },
            stacking={"priority": 5, "exclusive": True},
            per_customer_limit=1,
            starts_at="2026-12-01T00:00:00+01:00",
            ends_at="2026-12-31T23:59:59+01:00",
            metadata={"channel": "email"},
        )
        assert (created["status"], created["trigger"]) == ("active", "code")
        assert created["effects"] == [
            {**PERCENT, "max_amounts": {}, "max_line_amounts": {}},
            {
                "type": "shipping_off",
                "basis_points": 10_000,
                "amounts": {},
                "max_amounts": {},
                "methods": [],
            },
        ]
        assert created["target"]["exclude_categories"] == ["low_margin"]
        assert created["conditions"]["schedule"] == {
            "timezone": "Europe/Paris",
            "days": [5],
            "start_time": "18:00",
            "end_time": "24:00",
        }
        assert created["stacking"] == {
            "priority": 5,
            "exclusive": True,
            "line_exclusive": False,
            "exclusive_conflict": "priority",
            "best_of": None,
        }
        fetched = (await client.get(f"/v1/campaigns/{created['id']}", headers=admin)).json()
        assert fetched == created
        listed = (await client.get("/v1/campaigns", headers=admin)).json()
        assert created["id"] in {c["id"] for c in listed["data"]}

    async def test_list_pages_with_a_cursor(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        ids = [(await create(client, admin, name=f"C{i}"))["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/campaigns", params=params, headers=admin)).json()
            seen += [c["id"] for c in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        # Every campaign exactly once across the pages (rows made in one transaction share a
        # created_at, so their order among themselves is by id).
        assert len(seen) == len(set(seen))
        assert sorted(i for i in seen if i in ids) == sorted(ids)

    async def test_list_filters_by_status_trigger_and_kind(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        coded = (await create(client, admin, name="Coded"))["id"]
        automatic = (await create(client, admin, name="Auto", trigger="automatic"))["id"]
        paused = (await create(client, admin, name="Paused"))["id"]
        await client.post(f"/v1/campaigns/{paused}/pause", headers=admin)
        program = await create_program(client, admin)
        reward = await client.post(
            f"/v1/loyalty/programs/{program}/rewards",
            json={"name": "5 off", "points_cost": 100, "amount_off": 500},
            headers=admin,
        )
        assert reward.status_code == 201, reward.text
        ours = {coded, automatic, paused}

        async def listed(**query: str) -> list[str]:
            page = await client.get("/v1/campaigns", params=query, headers=admin)
            assert page.status_code == 200, page.text
            return [c["id"] for c in page.json()["data"]]

        # (Made in one transaction, they share a created_at: their order is by id.)
        assert {i for i in await listed(kind="standard") if i in ours} == ours
        rewards = await client.get("/v1/campaigns", params={"kind": "reward"}, headers=admin)
        assert {c["kind"] for c in rewards.json()["data"]} == {"reward"}
        assert not ours & {c["id"] for c in rewards.json()["data"]}
        assert [i for i in await listed(status="paused") if i in ours] == [paused]
        assert [i for i in await listed(trigger="automatic") if i in ours] == [automatic]
        both = await listed(status="active", trigger="code", kind="standard")
        assert [i for i in both if i in ours] == [coded]
        wrong = await client.get("/v1/campaigns", params={"kind": "marketing"}, headers=admin)
        assert (wrong.status_code, wrong.json()["code"]) == (422, "validation_error")

    async def test_end_must_follow_start(self, client: AsyncClient, admin: dict[str, str]) -> None:
        response = await client.post(
            "/v1/campaigns",
            json={
                "name": "x",
                "effects": [PERCENT],
                "starts_at": "2026-12-02T00:00:00Z",
                "ends_at": "2026-12-01T00:00:00Z",
            },
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_campaign"

    async def test_naive_timestamps_are_refused(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/campaigns",
            json={"name": "x", "effects": [PERCENT], "starts_at": "2026-12-01T00:00:00"},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "starts_at"]

    async def test_bad_effects_and_conditions_are_422(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        cases: list[dict[str, object]] = [
            {"effects": []},
            {"effects": [{"type": "percent_off", "basis_points": 0}]},
            {"effects": [{"type": "percent_off", "basis_points": 10_001}]},
            {"effects": [{"type": "amount_off", "amounts": {}}]},
            {"effects": [{"type": "amount_off", "amounts": {"EUR": -5}}]},
            {"effects": [{"type": "amount_off", "amounts": {"XYZ": 5}}]},
            {"effects": [{"type": "teleport"}]},
            {"effects": [{"basis_points": 100}]},
            {"effects": [PERCENT], "conditions": {"schedule": {"timezone": "Mars/Olympus"}}},
            # A file the host may have, not an IANA zone: names come from tzdata, not the host.
            {"effects": [PERCENT], "conditions": {"schedule": {"timezone": "localtime"}}},
            {"effects": [PERCENT], "conditions": {"schedule": {"timezone": "UTC", "days": [8]}}},
            {
                "effects": [PERCENT],
                "conditions": {"schedule": {"timezone": "UTC", "start_time": "25:00"}},
            },
            {"effects": [PERCENT], "conditions": {"markets": ["France"]}},
            {"effects": [PERCENT], "stacking": {"priority": 5000}},
        ]
        for fields in cases:
            response = await client.post(
                "/v1/campaigns", json={"name": "x", **fields}, headers=admin
            )
            assert response.status_code == 422, fields
            assert response.json()["code"] == "validation_error"

    async def test_update_changes_only_what_is_sent(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        created = await create(client, admin, per_customer_limit=3, conditions={"min_quantity": 2})
        url = f"/v1/campaigns/{created['id']}"
        updated = await client.patch(
            url,
            json={"name": "Renamed", "per_customer_limit": None, "stacking": {"priority": 9}},
            headers=admin,
        )
        assert updated.status_code == 200
        body = updated.json()
        assert (body["name"], body["per_customer_limit"], body["stacking"]["priority"]) == (
            "Renamed",
            None,
            9,
        )
        assert body["effects"] == created["effects"]
        assert body["conditions"]["min_quantity"] == 2
        assert body["updated_at"] >= created["updated_at"]
        replaced = await client.patch(
            url, json={"effects": [{"type": "amount_off", "amounts": {"EUR": 500}}]}, headers=admin
        )
        assert replaced.json()["effects"] == [{"type": "amount_off", "amounts": {"EUR": 500}}]
        assert replaced.json()["conditions"]["min_quantity"] == 2

    async def test_update_keeps_terms_consistent(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        created = await create(client, admin, starts_at="2026-12-01T00:00:00Z")
        url = f"/v1/campaigns/{created['id']}"
        bad = await client.patch(url, json={"ends_at": "2026-11-01T00:00:00Z"}, headers=admin)
        assert bad.status_code == 422
        assert bad.json()["code"] == "invalid_campaign"
        for field in ("name", "effects", "stacking"):
            null = await client.patch(url, json={field: None}, headers=admin)
            assert null.status_code == 422, field
        unchanged = (await client.get(url, headers=admin)).json()
        assert unchanged == created

    async def test_pause_and_resume(self, client: AsyncClient, admin: dict[str, str]) -> None:
        created = await create(client, admin)
        paused = await client.post(f"/v1/campaigns/{created['id']}/pause", headers=admin)
        assert paused.json()["status"] == "paused"
        resumed = await client.post(f"/v1/campaigns/{created['id']}/resume", headers=admin)
        assert resumed.json()["status"] == "active"

    async def test_automatic_campaigns_take_no_codes(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        automatic = await create(client, admin, trigger="automatic")
        response = await client.post(
            f"/v1/campaigns/{automatic['id']}/codes", json={"code": "NOPE1"}, headers=admin
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_campaign"

    async def test_unknown_campaign_is_404(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        missing = "/v1/campaigns/00000000-0000-0000-0000-000000000000"
        for response in (
            await client.get(missing, headers=admin),
            await client.post(f"{missing}/pause", headers=admin),
            await client.patch(missing, json={"name": "x"}, headers=admin),
            await client.post(f"{missing}/codes", json={"code": "X1"}, headers=admin),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "campaign_not_found"


class TestCodes:
    async def test_create_list_and_get(self, client: AsyncClient, admin: dict[str, str]) -> None:
        campaign = await create(client, admin)
        created = await client.post(
            f"/v1/campaigns/{campaign['id']}/codes",
            json={"code": " Summer10 ", "max_redemptions": 50, "per_customer_limit": 1},
            headers=admin,
        )
        assert created.status_code == 201
        code = created.json()
        assert (code["code"], code["redemption_count"], code["max_redemptions"]) == (
            "Summer10",
            0,
            50,
        )
        listed = (await client.get(f"/v1/campaigns/{campaign['id']}/codes", headers=admin)).json()
        assert [c["id"] for c in listed["data"]] == [code["id"]]
        assert (await client.get(f"/v1/codes/{code['id']}", headers=admin)).json() == code

    async def test_a_new_code_reports_its_own_count(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await create(client, admin)
        used = await client.post(
            f"/v1/campaigns/{campaign['id']}/codes", json={"code": "USED1"}, headers=admin
        )
        checkout = bearer(await factory.api_key(Scope.CHECKOUT))
        for order in range(3):
            redeemed = await client.post(
                "/v1/redeem",
                json={"codes": ["USED1"], "cart": cart(("a", 1, 1000))},
                headers={**checkout, "Idempotency-Key": f"order-{order}"},
            )
            assert redeemed.status_code == 201
        fresh = await client.post(
            f"/v1/campaigns/{campaign['id']}/codes", json={"code": "FRESH1"}, headers=admin
        )
        assert fresh.json()["redemption_count"] == 0
        assert (await client.get(f"/v1/codes/{used.json()['id']}", headers=admin)).json()[
            "redemption_count"
        ] == 3

    async def test_codes_are_unique_whatever_their_case(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        first, second = await create(client, admin), await create(client, admin)
        await client.post(
            f"/v1/campaigns/{first['id']}/codes", json={"code": "SUMMER10"}, headers=admin
        )
        clash = await client.post(
            f"/v1/campaigns/{second['id']}/codes", json={"code": "summer10"}, headers=admin
        )
        assert clash.status_code == 409
        assert clash.json()["code"] == "code_already_exists"

    async def test_malformed_code_text_is_refused(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        campaign = await create(client, admin)
        for text in ("two words", "-DASH", "a" * 65, "😀X", "İX"):
            response = await client.post(
                f"/v1/campaigns/{campaign['id']}/codes", json={"code": text}, headers=admin
            )
            assert response.status_code == 422, text
            assert response.json()["code"] in ("invalid_code", "validation_error"), text

    async def test_unknown_code_is_404(self, client: AsyncClient, admin: dict[str, str]) -> None:
        response = await client.get("/v1/codes/00000000-0000-0000-0000-000000000000", headers=admin)
        assert response.status_code == 404
        assert response.json()["code"] == "code_not_found"
