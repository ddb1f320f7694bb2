"""The checkout's read path sends statements straight to the driver, outside SQLAlchemy's error
handling: a lost connection must become a 503 and must not be handed to the next request."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import get_database
from app.db.engine import Database, create_engine
from app.domain.api_keys import Scope
from app.main import create_app
from app.settings import DatabaseSettings, Settings
from tests.factories import Factory, bearer, cart

pytestmark = pytest.mark.concurrency
# The name the one connection goes by in pg_stat_activity, so that the test ends it alone.
ONE_CONNECTION = "tessera-one-connection"


@pytest.fixture
async def one_connection_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    """The service on its own engine with a single pooled connection."""
    one = DatabaseSettings(pool_size=1, max_overflow=0, application_name=ONE_CONNECTION)
    own = settings.model_copy(update={"db": one})
    engine = create_engine(own)
    database = Database.on(engine)
    app: FastAPI = create_app(own)
    app.dependency_overrides[get_database] = lambda: database
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            yield http
    finally:
        await engine.dispose()


async def test_a_lost_read_connection_is_a_503_and_is_replaced(
    one_connection_client: AsyncClient, committing_factory: Factory, engine: AsyncEngine
) -> None:
    key = bearer(await committing_factory.api_key(Scope.CHECKOUT))
    body = {"codes": [], "cart": cart(("item", 1, 1000))}
    first = await one_connection_client.post("/v1/validate", json=body, headers=key)
    assert first.status_code == 200, first.text

    async with engine.connect() as admin:
        terminated = (
            await admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": ONE_CONNECTION},
            )
        ).scalar_one()
    assert terminated == 1

    lost = await one_connection_client.post("/v1/validate", json=body, headers=key)
    assert lost.status_code == 503, lost.text
    assert lost.json()["code"] == "service_unavailable"
    assert lost.headers["Retry-After"] == "1"

    again = await one_connection_client.post("/v1/validate", json=body, headers=key)
    assert again.status_code == 200, again.text
