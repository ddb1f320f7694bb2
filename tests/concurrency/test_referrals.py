"""Referral programs end to end, with the worker settling from the event feed: a referrer's
code gives friends their reward, never the referrer (by id or e-mail), each friend once; the
referrer is rewarded once per friend's order that stood through the window, not for one
rolled back inside it, and no more than the program's limit per period."""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.db.engine import Database
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.worker import work_once
from tests.concurrency.test_webhooks import work_until
from tests.factories import Factory, bearer

pytestmark = pytest.mark.concurrency


def order(code: str, customer: str, email: str | None = None) -> dict[str, Any]:
    return {
        "codes": [code],
        "customer": {"id": customer, "first_order": True} | ({"email": email} if email else {}),
        "cart": {
            "currency": "EUR",
            "lines": [{"sku": "shirt", "quantity": 1, "unit_price_amount": 3000}],
        },
    }


async def test_referrers_are_rewarded_once_per_friend_who_kept_the_order(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    club = await racing_client.post(
        "/v1/loyalty/programs",
        json={"name": "Club", "currency": "EUR", "earn_rate": {"points": 1, "per_amount": 100}},
        headers=admin,
    )
    club_id = club.json()["id"]
    made = await racing_client.post(
        "/v1/referral-programs",
        json={
            "name": "Give 5, get 500",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "advocate_reward": {"points": 500, "program_id": club_id},
            "window_days": 14,
            "max_rewards": {"limit": 2, "period": "month"},
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    program = made.json()
    url = f"/v1/referral-programs/{program['id']}"

    # Asked for at once: one code, made once.
    asked = await asyncio.gather(
        *(
            racing_client.post(
                f"{url}/referrers",
                json={"customer_id": "ann", "email": "Ann@Example.com"},
                headers=checkout,
            )
            for _ in range(5)
        )
    )
    assert sorted(r.status_code for r in asked) == [200, 200, 200, 200, 201]
    assert len({r.json()["code"] for r in asked}) == 1
    first = asked[0]
    again = await racing_client.post(
        f"{url}/referrers", json={"customer_id": "ann"}, headers=checkout
    )
    assert (again.status_code, again.json()["code"]) == (200, first.json()["code"])
    code = first.json()["code"]
    assert code.startswith("REF-")

    # Nobody refers themselves: not by id, nor under another id with the same e-mail.
    for body in (order(code, "ann"), order(code, "ann-2", " ann@example.COM ")):
        checked = await racing_client.post("/v1/validate", json=body, headers=checkout)
        assert checked.json()["codes"][0]["reason"] == "self_referral"
    anonymous = {"codes": [code], "cart": order(code, "x")["cart"]}
    checked = await racing_client.post("/v1/validate", json=anonymous, headers=checkout)
    assert checked.json()["codes"][0]["reason"] == "customer_required"

    redeemed = {}
    for friend in ("bob", "carl", "dan", "erin"):
        response = await racing_client.post(
            "/v1/redeem",
            json=order(code, friend) | {"order_id": f"o-{friend}"},
            headers={**checkout, "Idempotency-Key": f"ref-{friend}"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["discount_amount"] == 500
        redeemed[friend] = response.json()["id"]
    twice = await racing_client.post(
        "/v1/redeem",
        json=order(code, "bob"),
        headers={**checkout, "Idempotency-Key": "ref-bob-again"},
    )
    assert twice.json()["codes"][0]["reason"] == "customer_limit_reached"
    rolled = await racing_client.post(
        f"/v1/redemptions/{redeemed['carl']}/rollback", headers=checkout
    )
    assert rolled.json()["status"] == "rolled_back"
    # Its limits stay: one reward per customer, never advertised to all.
    lifted = await racing_client.patch(
        f"/v1/campaigns/{program['campaign_id']}",
        json={"per_customer_limit": None},
        headers=admin,
    )
    assert (lifted.status_code, lifted.json()["code"]) == (422, "invalid_campaign")

    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async def statuses() -> Counter[tuple[str, str, str | None]]:
        listed = await racing_client.get(f"{url}/referrals", headers=admin)
        return Counter((r["referee_id"], r["status"], r["reason"]) for r in listed.json()["data"])

    async def taken_in() -> bool:
        return len(await statuses()) == 4 and ("carl", "cancelled", "rolled_back") in (
            await statuses()
        )

    async with httpx.AsyncClient() as client:
        await work_until(new_uow, client, taken_in)
        assert await statuses() == Counter(
            {
                ("bob", "pending", None): 1,
                ("carl", "cancelled", "rolled_back"): 1,
                ("dan", "pending", None): 1,
                ("erin", "pending", None): 1,
            }
        )
        later = utc_now() + timedelta(days=15)
        await work_once(new_uow, client, later)
        await work_once(new_uow, client, later)  # again: nothing more
    settled = await statuses()
    assert settled[("carl", "cancelled", "rolled_back")] == 1
    assert Counter(status for (_, status, _) in settled.elements()) == {
        "rewarded": 2,
        "refused": 1,
        "cancelled": 1,
    }
    assert ("refused", "limit_reached") in {(s, r) for (_, s, r) in settled.elements()}
    # Pages of 3 then 1, newest first, together the whole list.
    whole = (await racing_client.get(f"{url}/referrals", headers=admin)).json()["data"]
    first = (await racing_client.get(f"{url}/referrals?limit=3", headers=admin)).json()
    rest = await racing_client.get(
        f"{url}/referrals", params={"limit": 3, "cursor": first["next_cursor"]}, headers=admin
    )
    assert rest.json()["next_cursor"] is None
    assert [r["id"] for r in first["data"] + rest.json()["data"]] == [r["id"] for r in whole]
    assert len(whole) == 4
    member = await racing_client.get(f"/v1/loyalty/programs/{club_id}/members/ann", headers=admin)
    # Credited at the worker's clock, 15 days on: spendable from then.
    balance = member.json()
    assert balance["available_points"] + balance["pending_points"] == 1000


async def test_a_wallet_credit_reward_and_a_return_of_everything_that_cancels_it(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    made = await racing_client.post(
        "/v1/referral-programs",
        json={
            "name": "Give 5, get 3",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "advocate_reward": {"amount": 300, "currency": "EUR"},
            "window_days": 7,
        },
        headers=admin,
    )
    url = f"/v1/referral-programs/{made.json()['id']}"
    code = (
        await racing_client.post(f"{url}/referrers", json={"customer_id": "ann"}, headers=checkout)
    ).json()["code"]
    ids = {}
    for friend in ("bob", "carl"):
        response = await racing_client.post(
            "/v1/redeem",
            json=order(code, friend),
            headers={**checkout, "Idempotency-Key": f"wallet-{friend}"},
        )
        ids[friend] = response.json()["id"]
    held = await racing_client.post(
        "/v1/holds",
        json=order(code, "erin") | {"order_id": "o-erin"},
        headers={**checkout, "Idempotency-Key": "wallet-erin-hold"},
    )
    assert held.status_code == 201, held.text
    redeemed_hold = await racing_client.post(
        f"/v1/holds/{held.json()['id']}/redeem", headers=checkout
    )
    assert redeemed_hold.json()["status"] == "succeeded"
    # Carl returns everything inside the window: the redemption is rolled back.
    returned = await racing_client.post(
        f"/v1/redemptions/{ids['carl']}/returns",
        json={"lines": [{"sku": "shirt", "quantity": 1}]},
        headers={**checkout, "Idempotency-Key": "wallet-carl-return"},
    )
    assert returned.json()["order_returned"] is True
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async def statuses() -> set[str]:
        listed = await racing_client.get(f"{url}/referrals", headers=admin)
        return {r["status"] for r in listed.json()["data"]}

    async def taken_in() -> bool:
        listed = await racing_client.get(f"{url}/referrals", headers=admin)
        found = Counter(r["status"] for r in listed.json()["data"])
        return found == {"pending": 2, "cancelled": 1}

    async def settled() -> bool:
        return await statuses() == {"rewarded", "cancelled"}

    async with httpx.AsyncClient() as client:
        await work_until(new_uow, client, taken_in)
        await work_until(new_uow, client, settled, at=timedelta(days=8))
    [wallet] = (await racing_client.get("/v1/customers/ann/wallets", headers=checkout)).json()[
        "data"
    ]
    assert wallet["available_amount"] + wallet["pending_amount"] == 600  # bob's and erin's


async def test_a_code_bound_to_the_referrer_as_the_reward(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    thanks = await committing_factory.campaign(name="Thanks: 10 % off")
    made = await racing_client.post(
        "/v1/referral-programs",
        json={
            "name": "Give 5, get 10 %",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "advocate_reward": {"campaign_id": str(thanks.id), "expires_in_days": 30},
            "window_days": 0,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["advocate_reward"]["campaign_id"] == str(thanks.id)
    url = f"/v1/referral-programs/{made.json()['id']}"
    code = (
        await racing_client.post(f"{url}/referrers", json={"customer_id": "ann"}, headers=checkout)
    ).json()["code"]
    friend = await racing_client.post(
        "/v1/redeem", json=order(code, "bob"), headers={**checkout, "Idempotency-Key": "code-bob"}
    )
    assert friend.status_code == 201, friend.text
    database = Database.on(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(database.sessions)

    async def rewarded() -> bool:
        listed = await racing_client.get(f"{url}/referrals", headers=admin)
        return [r["status"] for r in listed.json()["data"]] == ["rewarded"]

    async with httpx.AsyncClient() as client:
        await work_until(new_uow, client, rewarded)
    codes = await racing_client.get("/v1/customers/ann/codes", headers=admin)
    [reward] = [c for c in codes.json()["data"] if c["campaign_id"] == str(thanks.id)]
    assert reward["max_redemptions"] == 1
