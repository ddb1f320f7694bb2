"""Switching off and deleting a code while a crowd redeems it, over real connections that commit:
nobody gets a 500, and what was counted is what went through."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.concurrency.test_redeem_races import CART, scalar
from tests.factories import Factory, bearer

pytestmark = pytest.mark.concurrency

REDEEMS = 40


async def crowd_and(
    client: AsyncClient,
    checkout: dict[str, str],
    code: str,
    action: Callable[[], Awaitable[Response]],
    after: int,
) -> tuple[list[Response], Response]:
    """REDEEMS redeems of code, with action sent once `after` of them have been answered."""

    async def one(i: int) -> Response:
        body = {"codes": [code], "cart": CART, "customer": {"id": f"cus_{i}"}}
        headers = {**checkout, "Idempotency-Key": str(uuid.uuid4())}
        return await client.post("/v1/redeem", json=body, headers=headers)

    answered = asyncio.Semaphore(0)

    async def counted(i: int) -> Response:
        try:
            return await one(i)
        finally:
            answered.release()

    async def then_action() -> Response:
        for _ in range(after):
            await answered.acquire()
        return await action()

    *redeems, done = await asyncio.gather(*(counted(i) for i in range(REDEEMS)), then_action())
    return redeems, done


async def uses_of(engine: AsyncEngine, code_id: uuid.UUID) -> int:
    used: int = await scalar(
        engine,
        "SELECT coalesce(sum(used), 0) FROM code_counters WHERE code_id = :id",
        id=code_id,
    )
    return used


@pytest.mark.parametrize("after", [0, 1, 5, 20])
async def test_deleting_a_code_while_it_is_redeemed_either_wins_whole_or_is_refused(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine, after: int
) -> None:
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    code = await committing_factory.code(await committing_factory.campaign(), f"GOING-{after}")

    redeems, deleted = await crowd_and(
        racing_client,
        checkout,
        code.code,
        lambda: racing_client.delete(f"/v1/codes/{code.id}", headers=admin),
        after,
    )

    statuses = Counter(r.status_code for r in redeems)
    assert set(statuses) <= {201, 409}, statuses
    redeemed = await scalar(
        engine, "SELECT count(*) FROM redemption_items WHERE code_id = :id", id=code.id
    )
    if deleted.status_code == 204:
        # Deleted before any redeem took a use: every redeem found no code.
        assert statuses == {409: REDEEMS}
        assert {r.json()["codes"][0]["reason"] for r in redeems} == {"not_found"}
        assert redeemed == 0
        assert await scalar(engine, "SELECT count(*) FROM codes WHERE id = :id", id=code.id) == 0
    else:
        assert (deleted.status_code, deleted.json()["code"]) == (409, "code_in_use")
        assert statuses[201] == redeemed == await uses_of(engine, code.id) > 0
        refusals = {r.json()["codes"][0]["reason"] for r in redeems if r.status_code == 409}
        assert refusals <= {"not_found"}, refusals


@pytest.mark.parametrize("after", [0, 5])
async def test_switching_a_code_off_mid_crowd_counts_exactly_what_went_through(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine, after: int
) -> None:
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    support = bearer(await committing_factory.api_key(Scope.SUPPORT))
    code = await committing_factory.code(await committing_factory.campaign(), f"SWITCHED-{after}")

    redeems, disabled = await crowd_and(
        racing_client,
        checkout,
        code.code,
        lambda: racing_client.post(f"/v1/codes/{code.id}/disable", headers=support),
        after,
    )

    assert disabled.status_code == 200, disabled.text
    statuses = Counter(r.status_code for r in redeems)
    assert set(statuses) <= {201, 409}, statuses
    refusals = {r.json()["codes"][0]["reason"] for r in redeems if r.status_code == 409}
    assert refusals <= {"disabled"}, refusals
    redeemed = await scalar(
        engine, "SELECT count(*) FROM redemption_items WHERE code_id = :id", id=code.id
    )
    assert statuses[201] == redeemed == await uses_of(engine, code.id)
    later = await racing_client.post(
        "/v1/redeem",
        json={"codes": [code.code], "cart": CART},
        headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert later.json()["codes"][0]["reason"] == "disabled"


@pytest.mark.parametrize("after", [0, 3, 30])
async def test_lowering_a_limit_mid_crowd_lets_exactly_the_new_limit_through(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine, after: int
) -> None:
    """An unlimited code gets a limit of 12 while 40 redeem it: if the change came before the
    12th use it holds (exactly 12 in all), otherwise it is refused and all 40 went through."""
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    code = await committing_factory.code(await committing_factory.campaign(), f"TIGHTENED-{after}")

    redeems, patched = await crowd_and(
        racing_client,
        checkout,
        code.code,
        lambda: racing_client.patch(
            f"/v1/codes/{code.id}", json={"max_redemptions": 12}, headers=admin
        ),
        after,
    )

    statuses = Counter(r.status_code for r in redeems)
    used = await uses_of(engine, code.id)
    if patched.status_code == 200:
        assert statuses == {201: 12, 409: REDEEMS - 12}, statuses
        refusals = {r.json()["codes"][0]["reason"] for r in redeems if r.status_code == 409}
        assert refusals == {"limit_reached"}
        capacity = await scalar(
            engine, "SELECT sum(capacity) FROM code_counters WHERE code_id = :id", id=code.id
        )
        assert used == capacity == 12
    else:
        assert (patched.status_code, patched.json()["code"]) == (422, "invalid_code_terms")
        assert statuses == {201: REDEEMS}
        assert used == REDEEMS
