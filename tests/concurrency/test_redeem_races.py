"""Many redeems at once, over many real connections that commit: no limit is ever exceeded."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency

CART = cart(("item", 1, 5000))


async def fire(
    client: AsyncClient, requests: list[tuple[dict[str, Any], dict[str, str]]]
) -> list[Response]:
    return await asyncio.gather(
        *(client.post("/v1/redeem", json=body, headers=headers) for body, headers in requests)
    )


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


class TestCodeLimit:
    @pytest.mark.parametrize(
        ("limit", "already_used", "requests"),
        [
            (1, 0, 50),
            (50, 0, 200),
            (500, 0, 700),
            # The last 150 uses of a 10,000 limit: the counter rows are filled to 9,850 first
            # (as earlier redeems would leave them), so the race is at the limit itself.
            (10_000, 9_850, 400),
        ],
    )
    async def test_customers_racing_for_the_last_uses(
        self,
        racing_client: AsyncClient,
        committing_factory: Factory,
        engine: AsyncEngine,
        limit: int,
        already_used: int,
        requests: int,
    ) -> None:
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign()
        code = await committing_factory.code(campaign, "LIMITED", max_redemptions=limit)
        await fill_counters(engine, code.id, already_used)
        left = limit - already_used
        bodies = [
            (
                {"codes": ["LIMITED"], "cart": CART, "customer": {"id": f"cus_{i}"}},
                {**key, "Idempotency-Key": str(uuid.uuid4())},
            )
            for i in range(requests)
        ]
        responses = await fire(racing_client, bodies)

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: left, 409: requests - left}, statuses
        refusals = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
        assert refusals == {"limit_reached"}
        used = await scalar(
            engine, "SELECT sum(used) FROM code_counters WHERE code_id = :id", id=code.id
        )
        assert used == limit
        over = await scalar(
            engine,
            "SELECT count(*) FROM code_counters WHERE code_id = :id AND used > capacity",
            id=code.id,
        )
        assert over == 0
        items = await scalar(
            engine, "SELECT count(*) FROM redemption_items WHERE code_id = :id", id=code.id
        )
        assert items == left
        listed = await racing_client.get(
            f"/v1/codes/{code.id}", headers=bearer(await committing_factory.api_key(Scope.ADMIN))
        )
        assert listed.json()["redemption_count"] == limit

    @pytest.mark.parametrize("limit", [1, 3])
    async def test_a_code_counted_on_its_row_is_never_used_past_its_limit(
        self,
        racing_client: AsyncClient,
        committing_factory: Factory,
        engine: AsyncEngine,
        limit: int,
    ) -> None:
        """Pool, support and reward codes count their uses on their own row (no counter
        rows): 60 redeems of one at once, each a different customer."""
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO codes (campaign_id, code, normalised_code, max_redemptions,"
                    " source, used) VALUES (:campaign, 'POOLED1', 'pooled1', :limit,"
                    " 'generated', 0)"
                ),
                {"campaign": campaign.id, "limit": limit},
            )
        bodies = [
            (
                {"codes": ["POOLED1"], "cart": CART, "customer": {"id": f"cus_{i}"}},
                {**key, "Idempotency-Key": str(uuid.uuid4())},
            )
            for i in range(60)
        ]
        responses = await fire(racing_client, bodies)
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: limit, 409: 60 - limit}, statuses
        refusals = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
        assert refusals == {"limit_reached"}
        assert await scalar(engine, "SELECT used FROM codes WHERE code = 'POOLED1'") == limit
        assert await scalar(engine, "SELECT count(*) FROM code_counters") == 0

        redeemed = next(r for r in responses if r.status_code == 201)
        rollback = f"/v1/redemptions/{redeemed.json()['id']}/rollback"
        assert (await racing_client.post(rollback, headers=key)).status_code == 200
        assert await scalar(engine, "SELECT used FROM codes WHERE code = 'POOLED1'") == limit - 1


async def fill_counters(engine: AsyncEngine, code_id: uuid.UUID, uses: int) -> None:
    """Mark uses as taken, spread over the code's counter rows one at a time in turn, as
    redeems picking rows at random leave them."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                text("SELECT slot, capacity FROM code_counters WHERE code_id = :id ORDER BY slot"),
                {"id": code_id},
            )
        ).all()
        used = dict.fromkeys((slot for slot, _ in rows), 0)
        while uses:
            for slot, capacity in rows:
                if uses and used[slot] < capacity:
                    used[slot] += 1
                    uses -= 1
        for slot, taken in used.items():
            await conn.execute(
                text("UPDATE code_counters SET used = :n WHERE code_id = :id AND slot = :slot"),
                {"n": taken, "id": code_id, "slot": slot},
            )


class TestCustomerLimit:
    async def test_one_customer_racing_for_a_once_per_customer_code(
        self, racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign()
        await committing_factory.code(campaign, "ONCE-EACH", per_customer_limit=1)
        requests = [
            (
                {"codes": ["ONCE-EACH"], "cart": CART, "customer": {"id": "alice"}},
                {**key, "Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(40)
        ]
        responses = await fire(racing_client, requests)

        assert Counter(r.status_code for r in responses) == {201: 1, 409: 39}
        refusals = {r.json()["codes"][0]["reason"] for r in responses if r.status_code == 409}
        assert refusals == {"customer_limit_reached"}
        assert await scalar(engine, "SELECT count(*) FROM redemptions") == 1

    async def test_campaign_limit_per_customer_across_codes(
        self, racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign(per_customer_limit=2)
        codes = [f"WELCOME-{i}" for i in range(10)]
        for code in codes:
            await committing_factory.code(campaign, code)
        requests = [
            (
                {"codes": [code], "cart": CART, "customer": {"id": "bob"}},
                {**key, "Idempotency-Key": str(uuid.uuid4())},
            )
            for code in codes * 3
        ]
        responses = await fire(racing_client, requests)

        assert Counter(r.status_code for r in responses)[201] == 2
        assert await scalar(engine, "SELECT count(*) FROM redemptions") == 2


class TestIdempotentRetries:
    async def test_one_key_sent_many_times_at_once_redeems_once(
        self, racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign()
        await committing_factory.code(campaign, "RETRIED", max_redemptions=100)
        headers = {**key, "Idempotency-Key": "checkout-42"}
        body = {"codes": ["RETRIED"], "cart": CART, "order_id": "order-42"}
        responses = await fire(racing_client, [(body, headers)] * 20)

        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        assert await scalar(engine, "SELECT count(*) FROM redemptions") == 1
        assert await scalar(engine, "SELECT sum(used) FROM code_counters") == 1


class TestRollbackRaces:
    async def test_concurrent_rollbacks_restore_once(
        self, racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign()
        await committing_factory.code(campaign, "BACK", max_redemptions=3, per_customer_limit=3)
        redeemed = [
            (
                await racing_client.post(
                    "/v1/redeem",
                    json={"codes": ["BACK"], "cart": CART, "customer": {"id": "carol"}},
                    headers={**key, "Idempotency-Key": str(uuid.uuid4())},
                )
            ).json()["id"]
            for _ in range(3)
        ]
        first = redeemed[0]
        rollbacks = await asyncio.gather(
            *(
                racing_client.post(f"/v1/redemptions/{first}/rollback", headers=key)
                for _ in range(20)
            )
        )
        assert {r.status_code for r in rollbacks} == {200}
        assert await scalar(engine, "SELECT sum(used) FROM code_counters") == 2
        assert await scalar(engine, "SELECT redemption_count FROM customer_usages") == 2

    async def test_rollbacks_of_many_redemptions_of_one_code_give_every_use_back(
        self, racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
    ) -> None:
        """Each rollback releases from the code's first counter row with a use left, so racing
        rollbacks wait for the same rows; every use still comes back, once."""
        key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
        campaign = await committing_factory.campaign(per_customer_limit=100)
        await committing_factory.code(campaign, "MANY-BACK", max_redemptions=1000)
        redeemed = await fire(
            racing_client,
            [
                (
                    {"codes": ["MANY-BACK"], "cart": CART, "customer": {"id": f"c{n % 3}"}},
                    {**key, "Idempotency-Key": str(uuid.uuid4())},
                )
                for n in range(30)
            ],
        )
        assert {r.status_code for r in redeemed} == {201}
        assert await scalar(engine, "SELECT sum(used) FROM code_counters") == 30
        rollbacks = await asyncio.gather(
            *(
                racing_client.post(f"/v1/redemptions/{r.json()['id']}/rollback", headers=key)
                for r in redeemed
            )
        )
        assert {r.status_code for r in rollbacks} == {200}
        assert {r.json()["status"] for r in rollbacks} == {"rolled_back"}
        assert await scalar(engine, "SELECT sum(used) FROM code_counters") == 0
        assert await scalar(engine, "SELECT sum(redemption_count) FROM customer_usages") == 0
