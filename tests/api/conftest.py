from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi import FastAPI

from app.api.deps import request_time
from app.db.engine import Database
from app.domain.api_keys import Scope
from app.services.jobs import Worker
from app.settings import Settings
from tests.factories import Factory, bearer
from tests.workers import worker_on


@pytest.fixture
async def admin(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.ADMIN, name="admin"))


@pytest.fixture
async def checkout(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.CHECKOUT, name="checkout"))


@pytest.fixture
def worker(database: Database, settings: Settings) -> Worker:
    """The worker's means inside the test's transaction: tests run the jobs the API queued
    with tests.workers.run_due_jobs, where a worker process would."""
    return worker_on(database, settings)


@pytest.fixture
def clock_from(app: FastAPI) -> Callable[[datetime], list[datetime]]:
    """Start the API's clock at a moment; the test moves it by setting [0]."""

    def start(moment: datetime) -> list[datetime]:
        now = [moment]

        async def request_now() -> datetime:
            return now[0]

        app.dependency_overrides[request_time] = request_now
        return now

    return start
