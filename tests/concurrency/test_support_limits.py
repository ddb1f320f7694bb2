"""A support key's daily issuing total under concurrent issues, on real connections."""

import asyncio
import uuid
from collections import Counter

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer

pytestmark = pytest.mark.concurrency


async def test_many_agents_requests_at_once_never_pass_the_daily_total(
    racing_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    admin = bearer(await committing_factory.api_key(Scope.ADMIN))
    created = await racing_client.post(
        "/v1/api-keys", json={"name": "agent", "scopes": ["support"]}, headers=admin
    )
    key_id, agent = created.json()["id"], bearer(created.json()["key"])
    limits = {
        "currency": "EUR",
        "max_code_amount": 1000,
        "max_code_basis_points": 1000,
        "daily_amount": 5000,
    }
    await racing_client.put(f"/v1/api-keys/{key_id}/issuing-limits", json=limits, headers=admin)

    responses = await asyncio.gather(
        *(
            racing_client.post(
                "/v1/support/codes",
                json={
                    "customer": {"id": f"c{i}"},
                    "amount_off": {"amount": 1000, "currency": "EUR"},
                    "reason": "Late parcel",
                },
                headers={**agent, "Idempotency-Key": str(uuid.uuid4())},
            )
            for i in range(30)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: 5, 422: 25}
    assert {r.json()["limit"] for r in responses if r.status_code == 422} == {"daily"}
    async with engine.connect() as conn:
        issued = await conn.scalar(text("SELECT sum(amount) FROM issued_totals"))
        codes = await conn.scalar(text("SELECT count(*) FROM codes"))
        events = await conn.scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'support_code.issued'")
        )
    assert (issued, codes, events) == (5000, 5, 5)
