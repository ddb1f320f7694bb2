"""Limits per period through the API: counted in the campaign's time zone, given back by
rollbacks, shown on the campaign."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response

from tests.factories import cart

# 23:30 in Berlin on Monday 1 June; 21:30 UTC.
LATE_EVENING = datetime(2026, 6, 1, 21, 30, tzinfo=UTC)


@pytest.fixture
def clock(clock_from: Callable[[datetime], list[datetime]]) -> list[datetime]:
    return clock_from(LATE_EVENING)


async def campaign(client: AsyncClient, admin: dict[str, str], code: str, **fields: Any) -> Any:
    body = {"name": "Daily", "effects": [{"type": "percent_off", "basis_points": 1000}], **fields}
    made = await client.post("/v1/campaigns", json=body, headers=admin)
    assert made.status_code == 201, made.text
    created = await client.post(
        f"/v1/campaigns/{made.json()['id']}/codes", json={"code": code}, headers=admin
    )
    assert created.status_code == 201, created.text
    return made.json()


async def redeem(
    client: AsyncClient, checkout: dict[str, str], code: str, customer: str | None
) -> Response:
    body: dict[str, Any] = {"codes": [code], "cart": cart(("item", 1, 5000))}
    if customer:
        body["customer"] = {"id": customer}
    return await client.post(
        "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
    )


async def test_one_per_customer_per_day_resets_at_the_campaign_s_midnight(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: list[datetime]
) -> None:
    made = await campaign(
        client,
        admin,
        "DAILY",
        period_limits=[{"per": "customer", "period": "day", "limit": 1}],
        time_zone="Europe/Berlin",
    )
    assert (made["period_limits"], made["time_zone"]) == (
        [{"per": "customer", "period": "day", "limit": 1}],
        "Europe/Berlin",
    )
    first = await redeem(client, checkout, "DAILY", "ann")
    assert first.status_code == 201, first.text
    again = await redeem(client, checkout, "DAILY", "ann")
    verdict = again.json()["codes"][0]
    assert (again.status_code, verdict["reason"]) == (409, "period_limit_reached")
    assert verdict["message"] == "This offer has been used as often as allowed for now."
    assert (await redeem(client, checkout, "DAILY", "bob")).status_code == 201
    anonymous = await redeem(client, checkout, "DAILY", None)
    assert anonymous.json()["codes"][0]["reason"] == "customer_required"

    # 00:30 in Berlin: a new day there, still 1 June in UTC.
    clock[0] = LATE_EVENING + timedelta(hours=1)
    assert (await redeem(client, checkout, "DAILY", "ann")).status_code == 201

    # A rollback gives the day's use back.
    clock[0] = LATE_EVENING
    rollback = f"/v1/redemptions/{first.json()['id']}/rollback"
    assert (await client.post(rollback, headers=checkout)).status_code == 200
    assert (await redeem(client, checkout, "DAILY", "ann")).status_code == 201


async def test_a_campaign_wide_daily_limit_and_a_weekly_one_per_code(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: list[datetime]
) -> None:
    made = await campaign(
        client,
        admin,
        "TWICE-A",
        period_limits=[
            {"per": "campaign", "period": "day", "limit": 2},
            {"per": "code", "period": "week", "limit": 3},
        ],
    )
    await client.post(f"/v1/campaigns/{made['id']}/codes", json={"code": "TWICE-B"}, headers=admin)
    assert (await redeem(client, checkout, "TWICE-A", None)).status_code == 201
    assert (await redeem(client, checkout, "TWICE-B", None)).status_code == 201
    third = await redeem(client, checkout, "TWICE-A", None)
    assert third.json()["codes"][0]["reason"] == "period_limit_reached"
    # Next days of the same week: the code's weekly 3 runs out before the campaign's daily 2.
    clock[0] = LATE_EVENING + timedelta(days=1)
    assert (await redeem(client, checkout, "TWICE-A", None)).status_code == 201
    assert (await redeem(client, checkout, "TWICE-A", None)).status_code == 201
    clock[0] = LATE_EVENING + timedelta(days=2)
    weekly = await redeem(client, checkout, "TWICE-A", None)
    assert weekly.json()["codes"][0]["reason"] == "period_limit_reached"
    assert (await redeem(client, checkout, "TWICE-B", None)).status_code == 201


async def test_limits_are_checked_and_replaced_whole(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    twice = [
        {"per": "customer", "period": "day", "limit": 1},
        {"per": "customer", "period": "day", "limit": 2},
    ]
    body = {"name": "x", "effects": [{"type": "percent_off", "basis_points": 1000}]}
    refused = await client.post(
        "/v1/campaigns", json={**body, "period_limits": twice}, headers=admin
    )
    # A schema cannot say "one limit per kind": a business error, not validation_error.
    assert (refused.status_code, refused.json()["code"], refused.json()["fields"]) == (
        422,
        "invalid_campaign",
        ["period_limits"],
    )
    zone = await client.post(
        "/v1/campaigns", json={**body, "time_zone": "Mars/Olympus"}, headers=admin
    )
    assert (zone.status_code, zone.json()["code"], zone.json()["fields"]) == (
        422,
        "invalid_campaign",
        ["time_zone"],
    )
    made = await client.post("/v1/campaigns", json=body, headers=admin)
    url = f"/v1/campaigns/{made.json()['id']}"
    limits = [{"per": "campaign", "period": "month", "limit": 100}]
    patched = await client.patch(url, json={"period_limits": limits}, headers=admin)
    assert patched.json()["period_limits"] == limits
    zoned = await client.patch(url, json={"time_zone": "Asia/Tokyo"}, headers=admin)
    assert (zoned.json()["period_limits"], zoned.json()["time_zone"]) == (limits, "Asia/Tokyo")


async def test_a_time_zone_is_kept_without_limits_and_automatic_campaigns_count_no_codes(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "z", "effects": [{"type": "percent_off", "basis_points": 1000}]}
    zoned = await client.post(
        "/v1/campaigns", json={**body, "time_zone": "Europe/Berlin"}, headers=admin
    )
    assert (zoned.json()["time_zone"], zoned.json()["period_limits"]) == ("Europe/Berlin", [])
    url = f"/v1/campaigns/{zoned.json()['id']}"
    limits = [{"per": "customer", "period": "day", "limit": 1}]
    added = await client.patch(url, json={"period_limits": limits}, headers=admin)
    assert added.json()["time_zone"] == "Europe/Berlin"
    emptied = await client.patch(url, json={"period_limits": []}, headers=admin)
    assert (emptied.json()["time_zone"], emptied.json()["period_limits"]) == (
        "Europe/Berlin",
        [],
    )
    automatic = {
        **body,
        "trigger": "automatic",
        "period_limits": [{"per": "code", "period": "day", "limit": 1}],
    }
    refused = await client.post("/v1/campaigns", json=automatic, headers=admin)
    assert (refused.status_code, refused.json()["code"], refused.json()["fields"]) == (
        422,
        "invalid_campaign",
        ["period_limits"],
    )


async def test_a_lapsed_hold_gives_back_its_day(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: list[datetime]
) -> None:
    await campaign(
        client,
        admin,
        "ONEADAY",
        period_limits=[{"per": "customer", "period": "day", "limit": 1}],
    )
    body = {
        "codes": ["ONEADAY"],
        "cart": cart(("item", 1, 5000)),
        "customer": {"id": "ann"},
        "order_id": "o-1",
        "hold_seconds": 60,
    }
    held = await client.post(
        "/v1/holds", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert held.status_code == 201, held.text
    assert (await redeem(client, checkout, "ONEADAY", "ann")).status_code == 409
    clock[0] = LATE_EVENING + timedelta(minutes=2)
    assert (await redeem(client, checkout, "ONEADAY", "ann")).status_code == 201


async def test_validate_says_how_many_uses_are_left(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str], clock: list[datetime]
) -> None:
    made = await campaign(
        client,
        admin,
        "LEFT",
        period_limits=[{"per": "customer", "period": "day", "limit": 2}],
        budget={"max_redemptions": 10},
    )
    assert made["budget"]["max_redemptions"] == 10

    async def left(customer: str) -> Any:
        body = {"codes": ["LEFT"], "cart": cart(("item", 1, 5000)), "customer": {"id": customer}}
        answer = await client.post("/v1/validate", json=body, headers=checkout)
        return answer.json()["codes"][0]["uses_left"]

    assert await left("ann") == 2  # her two a day, before the campaign's ten
    assert (await redeem(client, checkout, "LEFT", "ann")).status_code == 201
    assert await left("ann") == 1
    assert (await redeem(client, checkout, "LEFT", "ann")).status_code == 201
    assert await left("ann") == 0
    assert await left("bob") == 2
