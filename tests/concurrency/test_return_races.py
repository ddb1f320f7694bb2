"""Returns of one order racing each other and its rollback, over real connections that commit:
each unit comes back once, the refunds add up to what the order cost, and at the end every
counter, budget and balance is where it was before the order."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from app.domain.benefits import Cashback, PercentOff
from app.domain.budgets import Budget
from tests.concurrency.test_redeem_races import scalar
from tests.factories import Factory, bearer

pytestmark = pytest.mark.concurrency

UNITS = 20


@pytest.mark.parametrize(
    ("rollbacks", "paid"),
    [
        (0, True),
        (3, True),
        # No balance touched: the rollback runs as one statement, which must leave a partly
        # returned redemption (even one returned while it waited) to the transaction.
        (3, False),
    ],
)
async def test_returns_of_every_unit_and_rollbacks_give_back_exactly_the_order(
    racing_client: AsyncClient,
    committing_factory: Factory,
    engine: AsyncEngine,
    rollbacks: int,
    paid: bool,
) -> None:
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    effects = (PercentOff(1000), Cashback(500)) if paid else (PercentOff(1000),)
    made = await committing_factory.campaign(*effects, name="Returns")
    uow = committing_factory.uow()
    async with uow:
        await uow.campaigns.set_budget(
            made.id, Budget(max_redemptions=100, max_discount={"EUR": 1_000_000})
        )
        await uow.commit()
    await committing_factory.code(made, "RACE", max_redemptions=10, per_customer_limit=5)
    card = await racing_client.post(
        "/v1/gift-cards",
        json={"currency": "EUR", "amount": 5000},
        headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert card.status_code == 201, card.text
    body = {
        "codes": ["RACE"],
        "customer": {"id": "ann"},
        "order_id": "o-race",
        "balance_codes": [card.json()["code"]] if paid else [],
        "cart": {
            "currency": "EUR",
            "lines": [
                {"sku": "a", "quantity": UNITS // 2, "unit_price_amount": 1000},
                {"sku": "b", "quantity": UNITS // 2, "unit_price_amount": 1500},
            ],
        },
    }
    redeemed = await racing_client.post(
        "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert redeemed.status_code == 201, redeemed.text
    redemption = redeemed.json()
    url = f"/v1/redemptions/{redemption['id']}"

    def give_back(sku: str) -> Any:
        return racing_client.post(
            f"{url}/returns",
            json={"lines": [{"sku": sku, "quantity": 1}]},
            headers={**checkout, "Idempotency-Key": str(uuid.uuid4())},
        )

    calls = [give_back("a" if i % 2 else "b") for i in range(UNITS)]
    for position in range(rollbacks):
        calls.insert(5 + position * 6, racing_client.post(f"{url}/rollback", headers=checkout))
    responses: list[Response] = await asyncio.gather(*calls)

    returns = [r for r in responses if r.request.url.path.endswith("/returns")]
    statuses = Counter(r.status_code for r in returns)
    assert set(statuses) <= {201, 409}, statuses
    assert all(r.json()["code"] == "not_returnable" for r in returns if r.status_code == 409)
    accepted = [r.json() for r in returns if r.status_code == 201]
    ended = [r for r in accepted if r["order_returned"]]
    current = (await racing_client.get(url, headers=checkout)).json()
    assert current["status"] == "rolled_back"
    if rollbacks == 0:
        assert statuses == {201: UNITS}
        assert len(ended) == 1
    assert len(ended) <= 1
    refunded = sum(r["refund_amount"] for r in accepted)
    if not ended:  # a rollback ended the order: it gave back what the returns left
        left = current["returned"] or redemption
        refunded += left["total_amount"]
    assert refunded == redemption["total_amount"]

    counts = {
        "code uses": "SELECT coalesce(sum(used), 0) FROM code_counters",
        "code row uses": "SELECT coalesce(sum(used), 0) FROM codes",
        "customer uses": "SELECT coalesce(sum(redemption_count), 0) FROM customer_usages",
        "budgets": "SELECT coalesce(sum(used), 0) FROM campaign_budgets",
        "wallet": "SELECT coalesce(sum(l.remaining), 0) FROM ledger_lots AS l"
        " JOIN balance_accounts AS a ON a.id = l.account_id WHERE a.kind = 'wallet'",
        "gift card": "SELECT coalesce(sum(l.remaining), 0) FROM ledger_lots AS l"
        " JOIN balance_accounts AS a ON a.id = l.account_id WHERE a.kind = 'gift_card'",
    }
    found = {name: await scalar(engine, sql) for name, sql in counts.items()}
    assert found == {
        "code uses": 0,
        "code row uses": 0,
        "customer uses": 0,
        "budgets": 0,
        "wallet": 0,
        "gift card": 5000,
    }


async def test_a_rollback_waiting_on_a_return_reads_what_the_return_left(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    """The one-statement rollback reads the redemption's items in its snapshot: were a return
    to commit while it waits for the row, those would be stale. It must leave the redemption
    to the transaction, which gives back what the return left (not what was redeemed)."""
    checkout = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    made = await committing_factory.campaign(PercentOff(1000), name="Waiting")
    uow = committing_factory.uow()
    async with uow:
        await uow.campaigns.set_budget(made.id, Budget(max_discount={"EUR": 1_000_000}))
        await uow.commit()
    await committing_factory.code(made, "WAIT")

    async def redeem() -> dict[str, Any]:
        body = {
            "codes": ["WAIT"],
            "cart": {
                "currency": "EUR",
                "lines": [
                    {"sku": "a", "quantity": 1, "unit_price_amount": 4000},
                    {"sku": "b", "quantity": 1, "unit_price_amount": 6000},
                ],
            },
        }
        response = await racing_client.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert response.status_code == 201, response.text
        redeemed: dict[str, Any] = response.json()
        return redeemed

    await redeem()  # stays: the budget does not start from zero
    redeemed = await redeem()
    spent = "SELECT used FROM campaign_budgets WHERE unit = 'EUR'"
    assert await scalar(engine, spent) == 2000

    # What a return of line a does, committed while the rollback waits for the row.
    async with engine.connect() as returning:
        transaction = await returning.begin()
        await returning.execute(
            text("SELECT 1 FROM redemptions WHERE id = :id FOR UPDATE"), {"id": redeemed["id"]}
        )
        rollback = asyncio.ensure_future(
            racing_client.post(f"/v1/redemptions/{redeemed['id']}/rollback", headers=checkout)
        )
        await asyncio.sleep(0.3)
        assert not rollback.done()
        for sql in (
            "UPDATE redemptions SET returned_quantities = '{1,0}', subtotal_amount = 6000,"
            " discount_amount = 600, total_amount = 5400 WHERE id = :id",
            "UPDATE redemption_items SET discount_amount = 600, budget_amount = 600"
            " WHERE redemption_id = :id",
            "UPDATE campaign_budgets SET used = used - 400 WHERE unit = 'EUR'",
        ):
            await returning.execute(text(sql), {"id": redeemed["id"]})
        await transaction.commit()
    rolled = await rollback
    assert rolled.json()["status"] == "rolled_back"
    assert await scalar(engine, spent) == 1000
