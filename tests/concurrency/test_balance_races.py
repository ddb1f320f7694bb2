"""Balances under concurrency, on real connections: many spends of one balance at once never
overdraw it, and concurrent expiry runs expire everything exactly once."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency


async def scalars(engine: AsyncEngine, *queries: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        return tuple([await conn.scalar(text(query)) for query in queries])


async def program_with_points(
    client: AsyncClient,
    admin: dict[str, str],
    checkout: dict[str, str],
    customers: int,
    amount: int,
) -> str:
    created = await client.post(
        "/v1/loyalty/programs",
        json={
            "name": "Club",
            "currency": "EUR",
            "earn_rate": {"points": 1, "per_amount": 100},
            "expiry_days": 365,
        },
        headers=admin,
    )
    program: str = created.json()["id"]
    for i in range(customers):
        earned = await client.post(
            f"/v1/loyalty/programs/{program}/earnings",
            json={"customer_id": f"c{i}", "order_id": f"o{i}", "amount": amount, "currency": "EUR"},
            headers=checkout,
        )
        assert earned.status_code == 201, earned.text
    return program


async def test_forty_reward_spends_at_once_take_exactly_what_the_balance_holds(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    program = await program_with_points(racing_client, admin, checkout, 1, 100_000)  # 1,000
    reward = await racing_client.post(
        f"/v1/loyalty/programs/{program}/rewards",
        json={"name": "5 off", "points_cost": 100, "amount_off": 500},
        headers=admin,
    )

    responses = await asyncio.gather(
        *(
            racing_client.post(
                f"/v1/loyalty/programs/{program}/members/c0/reward-redemptions",
                json={"reward_id": reward.json()["id"]},
                headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(40)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: 10, 409: 30}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_points"}
    assert len({r.json()["code"] for r in responses if r.status_code == 201}) == 10
    remaining, spent, codes = await scalars(
        engine,
        "SELECT sum(remaining) FROM ledger_lots",
        "SELECT sum(amount) FROM ledger_entries WHERE kind = 'spend'",
        "SELECT count(*) FROM codes WHERE source = 'reward'",
    )
    assert (remaining, spent, codes) == (0, -1000, 10)


async def test_thirty_orders_paying_with_one_gift_card_never_take_more_than_it_holds(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    card = await racing_client.post(
        "/v1/gift-cards",
        json={"currency": "EUR", "amount": 1000},
        headers={**admin, "Idempotency-Key": "card"},
    )
    code = card.json()["code"]

    responses = await asyncio.gather(
        *(
            racing_client.post(
                "/v1/redeem",
                json={"cart": cart(("a", 1, 150)), "balance_codes": [code]},
                headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(30)
        )
    )

    paid = sorted(r.json()["paid_amount"] for r in responses if r.status_code == 201)
    assert paid == [100] + [150] * 6
    refused = [r.json()["balance_codes"][0]["reason"] for r in responses if r.status_code == 409]
    assert refused == ["no_balance"] * 23
    remaining, payments = await scalars(
        engine,
        "SELECT sum(remaining) FROM ledger_lots",
        "SELECT sum(amount) FROM ledger_entries WHERE kind = 'payment'",
    )
    assert (remaining, payments) == (0, -1000)


async def test_concurrent_expiry_runs_expire_every_lot_once(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    await program_with_points(racing_client, admin, checkout, 60, 5_000)  # 50 points each
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE ledger_lots SET expires_at = now() - interval '1 day'"))

    runs = await asyncio.gather(
        *(racing_client.post("/v1/expiry-runs", headers=admin) for _ in range(5))
    )

    assert {r.status_code for r in runs} == {200}
    assert sum(r.json()["amount"] for r in runs) == 3000
    assert sum(r.json()["accounts"] for r in runs) == 60
    again = await racing_client.post("/v1/expiry-runs", headers=admin)
    assert again.json() == {"accounts": 0, "lots": 0, "amount": 0}
    entries, expired, remaining = await scalars(
        engine,
        "SELECT count(*) FROM ledger_entries WHERE kind = 'expire'",
        "SELECT sum(amount) FROM ledger_entries WHERE kind = 'expire'",
        "SELECT sum(remaining) FROM ledger_lots",
    )
    assert (entries, expired, remaining) == (60, -3000, 0)
