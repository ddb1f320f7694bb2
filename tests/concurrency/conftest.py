from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import get_database
from app.db.engine import Database, SessionFactory, create_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.factories import Factory

TABLES = (
    "api_keys, campaigns, codes, code_counters, customer_usages, redemptions, redemption_items,"
    " idempotency_keys, code_jobs, audit_events, issuing_limits, issued_totals, guess_failures,"
    " campaign_budgets, period_uses, verdict_log, redemption_returns, webhook_deliveries,"
    " webhook_endpoints, events,"
    " loyalty_programs, loyalty_rewards, balance_accounts, ledger_entries, ledger_lots,"
    " ledger_allocations"
)


@pytest.fixture
async def committing_sessionmaker(engine: AsyncEngine) -> AsyncIterator[SessionFactory]:
    """Sessions on the real pool that really commit; every table is emptied afterwards."""
    yield create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))


@pytest.fixture
def committing_factory(committing_sessionmaker: SessionFactory) -> Factory:
    return Factory(committing_sessionmaker)


@pytest.fixture
async def racing_client(
    settings: Settings, engine: AsyncEngine, committing_sessionmaker: SessionFactory
) -> AsyncIterator[AsyncClient]:
    app: FastAPI = create_app(settings)
    database = Database.on(engine)
    app.dependency_overrides[get_database] = lambda: database
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://tessera") as http:
        yield http
