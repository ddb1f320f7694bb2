"""Support agents' apology codes, their issuing limits, customers' available codes, the audit
trail."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from app.api.deps import request_time
from tests.factories import Factory, cart

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
LIMITS = {
    "currency": "EUR",
    "max_code_amount": 2000,
    "max_code_basis_points": 2000,
    "daily_amount": 3000,
}


async def new_key(
    client: AsyncClient, admin: dict[str, str], *scopes: str
) -> tuple[str, dict[str, str]]:
    """A key made through the API: its id and its Authorization header."""
    response = await client.post(
        "/v1/api-keys", json={"name": "agent", "scopes": list(scopes)}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], {"Authorization": f"Bearer {response.json()['key']}"}


async def agent(client: AsyncClient, admin: dict[str, str]) -> tuple[str, dict[str, str]]:
    key_id, headers = await new_key(client, admin, "support")
    limits = await client.put(f"/v1/api-keys/{key_id}/issuing-limits", json=LIMITS, headers=admin)
    assert limits.status_code == 200, limits.text
    return key_id, headers


async def issue(
    client: AsyncClient, headers: dict[str, str], key: str | None = None, **body: Any
) -> Any:
    payload = {"customer": {"email": " Ann@Example.com "}, "reason": "Parcel arrived late"} | body
    return await client.post(
        "/v1/support/codes",
        json=payload,
        headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
    )


def fixed_clock(app: FastAPI) -> None:
    async def now() -> datetime:
        return NOW

    app.dependency_overrides[request_time] = now


class TestIssue:
    async def test_an_agent_issues_a_bound_single_use_code(
        self, app: FastAPI, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        fixed_clock(app)
        key_id, headers = await agent(client, admin)
        response = await issue(client, headers, amount_off={"amount": 1500, "currency": "EUR"})
        assert response.status_code == 201, response.text
        code = response.json()
        assert code["customer_id"] == "ann@example.com"
        assert (code["amount"], code["currency"], code["issued_by"]) == (1500, "EUR", key_id)
        assert datetime.fromisoformat(code["expires_at"]) == NOW + timedelta(days=30)
        assert len(code["code"]) == 12

        body = {"codes": [code["code"]], "cart": cart(("shirt", 1, 4000))}
        for customer, verdict in [("bob", "customer_mismatch"), ("ann@example.com", None)]:
            validated = await client.post(
                "/v1/validate", json={**body, "customer": {"id": customer}}, headers=checkout
            )
            assert validated.json()["codes"][0]["reason"] == verdict
        redeem = {**body, "customer": {"id": "ann@example.com"}}
        first = await client.post(
            "/v1/redeem", json=redeem, headers={**checkout, "Idempotency-Key": "o-1"}
        )
        assert (first.status_code, first.json()["discount_amount"]) == (201, 1500)
        second = await client.post(
            "/v1/redeem", json=redeem, headers={**checkout, "Idempotency-Key": "o-2"}
        )
        assert second.json()["codes"][0]["reason"] == "limit_reached"

    async def test_percent_free_shipping_and_product_restriction(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        response = await issue(
            client,
            headers,
            customer={"id": "cus_7"},
            percent_off=1000,
            free_shipping=True,
            skus=["shirt"],
        )
        assert response.status_code == 201, response.text
        basket = cart(("shirt", 1, 4000), ("socks", 1, 1000))
        validated = await client.post(
            "/v1/validate",
            json={
                "codes": [response.json()["code"]],
                "customer": {"id": "cus_7"},
                "cart": basket | {"shipping_amount": 495},
            },
            headers=checkout,
        )
        result = validated.json()
        assert (result["discount_amount"], result["shipping_discount_amount"]) == (400, 495)

    async def test_a_customer_id_is_kept_exactly_as_sent(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        issued = await issue(client, headers, customer={"id": " Cus_9"}, percent_off=500)
        assert issued.json()["customer_id"] == " Cus_9"
        listed = await client.get("/v1/customers/%20Cus_9/codes", headers=checkout)
        assert [c["code"] for c in listed.json()["data"]] == [issued.json()["code"]]
        assert (await client.get("/v1/customers/Cus_9/codes", headers=checkout)).json() == {
            "data": []
        }

    async def test_a_retry_returns_the_same_code(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        first = await issue(client, headers, "retry-1", percent_off=500)
        again = await issue(client, headers, "retry-1", percent_off=500)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        other = await issue(client, headers, "retry-1", percent_off=600)
        assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")

    async def test_values_over_the_keys_limits_are_refused(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"amount_off": {"amount": 2001, "currency": "EUR"}}, "amount"),
            ({"amount_off": {"amount": 100, "currency": "USD"}}, "currency"),
            ({"percent_off": 2500}, "basis_points"),
        ]
        for body, field in cases:
            response = await issue(client, headers, **body)
            assert response.status_code == 422, body
            problem = response.json()
            assert (problem["code"], problem["limit"], problem["fields"]) == (
                "issuing_limit_exceeded",
                "per_code",
                [field],
            )

    async def test_the_daily_total_is_enforced(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        euros = [2000, 1500, 1000]
        statuses = [
            (await issue(client, headers, amount_off={"amount": a, "currency": "EUR"})).status_code
            for a in euros
        ]
        assert statuses == [201, 422, 201]  # 2,000 + 1,000 = the 3,000 a day
        refused = await issue(client, headers, amount_off={"amount": 1, "currency": "EUR"})
        assert refused.json()["limit"] == "daily"
        assert "3000" in refused.json()["detail"]

    async def test_a_support_key_without_limits_cannot_issue(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        key_id, headers = await new_key(client, admin, "support")
        response = await issue(client, headers, percent_off=500)
        assert response.status_code == 403
        assert f"/v1/api-keys/{key_id}/issuing-limits" in response.json()["detail"]
        missing = await client.get(f"/v1/api-keys/{key_id}/issuing-limits", headers=admin)
        assert (missing.status_code, missing.json()["code"]) == (404, "issuing_limits_not_found")

    async def test_bad_requests_are_validation_errors(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        _, headers = await agent(client, admin)
        bodies: list[dict[str, Any]] = [
            {"percent_off": 500, "reason": ""},
            {"percent_off": 500, "customer": {}},
            {"percent_off": 500, "customer": {"id": "a", "email": "a@b.c"}},
            {"percent_off": 500, "customer": {"email": "not an address"}},
        ]
        for body in bodies:
            response = await issue(client, headers, **body)
            assert (response.status_code, response.json()["code"]) == (422, "validation_error")
        refusals: list[dict[str, Any]] = [
            {"percent_off": 500, "amount_off": {"amount": 5, "currency": "EUR"}},
            {},
            {"percent_off": 500, "expires_at": "2020-01-01T00:00:00Z"},
        ]
        for body in refusals:
            response = await issue(client, headers, **body)
            assert (response.status_code, response.json()["code"]) == (
                422,
                "invalid_support_code",
            ), body
        assert (await issue(client, checkout, percent_off=500)).status_code == 403
        unknown = await client.put(
            f"/v1/api-keys/{uuid.uuid4()}/issuing-limits", json=LIMITS, headers=admin
        )
        assert (unknown.status_code, unknown.json()["code"]) == (404, "api_key_not_found")


class TestAvailableCodes:
    async def test_lists_what_the_customer_can_still_use(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
    ) -> None:
        _, headers = await agent(client, admin)
        issued = (await issue(client, headers, percent_off=500)).json()
        campaign = await factory.campaign()
        await factory.code(
            campaign,
            "OLD-ONE",
            customer_id="ann@example.com",
            expires_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        await factory.code(campaign, "BOBS", customer_id="bob")

        listed = await client.get("/v1/customers/ann@example.com/codes", headers=checkout)
        assert listed.status_code == 200
        assert [c["code"] for c in listed.json()["data"]] == [issued["code"]]
        assert listed.json()["data"][0]["campaign_name"] == "Apology for ann@example.com"
        assert listed.json()["data"][0]["source"] == "support"

        await client.post(
            "/v1/redeem",
            json={
                "codes": [issued["code"]],
                "customer": {"id": "ann@example.com"},
                "cart": cart(("shirt", 1, 4000)),
            },
            headers={**checkout, "Idempotency-Key": "used"},
        )
        after = await client.get("/v1/customers/ann@example.com/codes", headers=headers)
        assert after.json()["data"] == []


class TestAudit:
    async def test_writes_are_listed_with_who_what_and_why(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        key_id, headers = await agent(client, admin)
        issued = (await issue(client, headers, percent_off=500)).json()
        campaign = await client.post(
            "/v1/campaigns",
            json={"name": "Spring", "effects": [{"type": "percent_off", "basis_points": 1000}]},
            headers=admin,
        )
        assert campaign.status_code == 201, campaign.text

        by_customer = await client.get(
            "/v1/audit-events", params={"customer_id": "ann@example.com"}, headers=admin
        )
        [event] = by_customer.json()["data"]
        assert event["action"] == "support_code.issued"
        assert (event["api_key_id"], event["reason"], event["subject_id"]) == (
            key_id,
            "Parcel arrived late",
            issued["code_id"],
        )
        assert event["details"]["code"] == issued["code"]

        by_key = await client.get("/v1/audit-events", params={"api_key_id": key_id}, headers=admin)
        assert [e["action"] for e in by_key.json()["data"]] == ["support_code.issued"]

        everything = await client.get("/v1/audit-events", params={"limit": 2}, headers=admin)
        page = everything.json()
        assert [e["action"] for e in page["data"]] == [
            "campaign.created",
            "support_code.issued",
        ]
        rest = await client.get(
            "/v1/audit-events", params={"cursor": page["next_cursor"]}, headers=admin
        )
        # ... then the agent's key, made by the admin, and the admin's own (by the fixture).
        assert [(e["action"], e["subject_id"]) for e in rest.json()["data"]][:2] == [
            ("api_key.issuing_limits_set", key_id),
            ("api_key.created", key_id),
        ]
        assert len(rest.json()["data"]) == 3

        by_campaign = await client.get(
            "/v1/audit-events", params={"campaign_id": campaign.json()["id"]}, headers=admin
        )
        assert [e["action"] for e in by_campaign.json()["data"]] == ["campaign.created"]
        assert (await client.get("/v1/audit-events", headers=headers)).status_code == 403
