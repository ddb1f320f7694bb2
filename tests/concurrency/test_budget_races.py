"""Campaign budgets under a crowd, over real connections that commit: a budget is never passed,
and what the budget counted is what went through."""

import asyncio
import uuid
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.repositories.campaigns import _GIVE_BACK_BUDGETS
from app.domain.api_keys import Scope
from app.domain.budgets import Budget, OverBudget
from tests.concurrency.test_redeem_races import fire, scalar
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency


async def budgeted(factory: Factory, budget: Budget, codes: int) -> list[str]:
    """A 10 %-off campaign with this budget and codes unlimited codes; their texts."""
    made = await factory.campaign(name="Budgeted")
    uow = factory.uow()
    async with uow:
        await uow.campaigns.set_budget(made.id, budget)
        await uow.commit()
    texts = [f"BUDGET-{i}" for i in range(codes)]
    for code in texts:
        await factory.code(made, code)
    return texts


async def used(engine: AsyncEngine, unit: str) -> int:
    value: int = await scalar(
        engine, "SELECT coalesce(sum(used), 0) FROM campaign_budgets WHERE unit = :unit", unit=unit
    )
    return value


async def test_a_money_budget_of_100_is_never_passed_by_200_redeems(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    codes = await budgeted(committing_factory, Budget(max_discount={"EUR": 10_000}), 10)
    # 10 % of 50.00: 5.00 an order, so 20 orders spend the 100.00.
    requests = [
        (
            {"codes": [codes[i % len(codes)]], "cart": cart(("item", 1, 5000))},
            {**key, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(200)
    ]
    responses = await fire(racing_client, requests)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 20, 409: 180}, statuses
    reasons = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
    assert reasons <= {"budget_exceeded", "budget_exhausted", "limit_reached"}, reasons
    taken = sum(r.json()["discount_amount"] for r in responses if r.status_code == 201)
    assert taken == await used(engine, "EUR") == 10_000


async def test_a_reduced_budget_is_spent_to_the_cent_and_no_further(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    budget = Budget(max_discount={"EUR": 10_000}, over_budget=OverBudget.REDUCE)
    codes = await budgeted(committing_factory, budget, 5)
    # Orders of 31.00 to 79.00: 3.10 to 7.90 off each, so the last one is cut to what is left.
    requests = [
        (
            {"codes": [codes[i % len(codes)]], "cart": cart(("item", 1, 3100 + (i % 49) * 100))},
            {**key, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(150)
    ]
    responses = await fire(racing_client, requests)

    assert {r.status_code for r in responses} <= {201, 409}
    taken = sum(r.json()["discount_amount"] for r in responses if r.status_code == 201)
    assert taken == await used(engine, "EUR") == 10_000


async def test_a_redemption_budget_lets_exactly_its_count_through(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    codes = await budgeted(committing_factory, Budget(max_redemptions=50), 10)
    requests = [
        (
            {"codes": [codes[i % len(codes)]], "cart": cart(("item", 1, 5000))},
            {**key, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(200)
    ]
    responses = await fire(racing_client, requests)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 50, 409: 150}, statuses
    assert await used(engine, "redemptions") == 50
    redeemed = await scalar(engine, "SELECT count(*) FROM redemptions")
    assert redeemed == 50


async def test_editing_a_budgeted_campaign_mid_crowd_neither_deadlocks_nor_fails(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    budget = Budget(max_redemptions=1_000, max_discount={"EUR": 1_000_000})
    codes = await budgeted(committing_factory, budget, 5)
    campaign_id = await scalar(engine, "SELECT id FROM campaigns WHERE name = 'Budgeted'")
    requests = [
        (
            {"codes": [codes[i % len(codes)]], "cart": cart(("item", 1, 5000))},
            {**key, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(60)
    ]
    edits = [
        racing_client.patch(
            f"/v1/campaigns/{campaign_id}", json={"name": f"Budgeted {n}"}, headers=admin
        )
        for n in range(5)
    ]
    crowd = asyncio.ensure_future(fire(racing_client, requests))
    edited = await asyncio.gather(*edits)
    responses = await crowd

    assert Counter(r.status_code for r in responses) == {201: 60}
    assert [e.status_code for e in edited] == [200] * 5
    assert await used(engine, "redemptions") == 60


async def test_a_daily_limit_lets_exactly_its_count_through(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    codes = await budgeted(committing_factory, Budget(), 10)
    campaign_id = await scalar(engine, "SELECT id FROM campaigns WHERE name = 'Budgeted'")
    daily = [{"per": "campaign", "period": "day", "limit": 50}]
    patched = await racing_client.patch(
        f"/v1/campaigns/{campaign_id}",
        json={"period_limits": daily, "time_zone": "Pacific/Auckland"},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    requests = [
        (
            {
                "codes": [codes[i % len(codes)]],
                "cart": cart(("item", 1, 5000)),
                "customer": {"id": f"c{i % 7}"},
            },
            {**key, "Idempotency-Key": str(uuid.uuid4())},
        )
        for i in range(150)
    ]
    responses = await fire(racing_client, requests)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 50, 409: 100}, statuses
    reasons = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
    assert reasons <= {"period_limit_reached", "limit_reached"}, reasons
    counted = await scalar(engine, "SELECT sum(used) FROM period_uses")
    assert counted == 50


@pytest.mark.parametrize("give_back", ["rollback", "release"])
async def test_concurrent_rollbacks_give_a_budget_back_to_the_cent(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine, give_back: str
) -> None:
    """A campaign capping money and redemptions; eight orders of one code rolled back (or
    eight holds released) at once give back all 8 redemptions and all 8.00: each waits for
    the one before on the same budget rows and must still give back every one of them (it
    once lost some: the recheck of a join over a UNION ALL dropped rows)."""
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    [code] = await budgeted(
        committing_factory, Budget(max_discount={"EUR": 800}, max_redemptions=100), 1
    )
    path = "/v1/redeem" if give_back == "rollback" else "/v1/holds"
    made = []
    for i in range(8):
        body = {"codes": [code], "cart": cart(("item", 1, 1000)), "order_id": f"o-{i}"}
        headers = {**key, "Idempotency-Key": str(uuid.uuid4())}
        made.append(await racing_client.post(path, json=body, headers=headers))
    assert [r.status_code for r in made] == [201] * 8
    assert (await used(engine, "EUR"), await used(engine, "redemptions")) == (800, 8)
    urls = [
        f"/v1/redemptions/{r.json()['id']}/rollback"
        if give_back == "rollback"
        else f"/v1/holds/{r.json()['id']}/release"
        for r in made
    ]
    done = await asyncio.gather(*(racing_client.post(url, headers=key) for url in urls))
    assert [r.status_code for r in done] == [200] * 8, [r.text for r in done]
    assert (await used(engine, "EUR"), await used(engine, "redemptions")) == (0, 0)


async def test_a_give_back_that_waited_for_another_still_gives_back_every_unit(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    """The interleaving that lost units, made deterministic: one give-back holds both budget
    rows (money and redemptions) of a campaign until it commits; a second one waits for them,
    then must update both rows, not one (PostgreSQL's recheck of its join dropped a row while
    what was owed was an inlined UNION ALL)."""
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    [code] = await budgeted(
        committing_factory, Budget(max_discount={"EUR": 800}, max_redemptions=100), 1
    )
    ids = []
    for i in range(2):
        body = {"codes": [code], "cart": cart(("item", 1, 1000)), "order_id": f"w-{i}"}
        made = await racing_client.post(
            "/v1/redeem", json=body, headers={**key, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    give_back = _GIVE_BACK_BUDGETS
    async with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            # The plan a production-sized database picks (index scans in nested loops); on
            # this test's few rows PostgreSQL would hash them, where the recheck kept rows.
            for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                await connection.execute(text(f"SET LOCAL {setting} = off"))
        assert (await first.execute(give_back, {"redemption_id": ids[0]})).scalar_one() == 2
        waiting = asyncio.create_task(second.execute(give_back, {"redemption_id": ids[1]}))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await first.commit()
        assert (await waiting).scalar_one() == 2
        await second.commit()
    assert (await used(engine, "EUR"), await used(engine, "redemptions")) == (0, 0)
