import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import _create_database, _drop_database, _with_database, migrate

ROOT = Path(__file__).resolve().parents[2]
LIVE_ADMIN_KEY = "tsk_contract_admin_" + secrets.token_hex(8)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(server_url: str) -> Iterator[str]:
    """The real service under uvicorn, on its own migrated database, with an admin key."""
    with _serving(server_url) as base:
        yield base


@pytest.fixture(scope="session")
def vectors_server(server_url: str) -> Iterator[str]:
    """Another, for the calculation vectors: the contract run's random automatic campaigns
    would change their amounts."""
    with _serving(server_url) as base:
        yield base


@contextmanager
def _serving(server_url: str) -> Iterator[str]:
    name = f"tessera_live_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server_url, name))
    url = _with_database(server_url, name)
    migrate(url)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TESSERA_BOOTSTRAP_ADMIN_KEY": LIVE_ADMIN_KEY,
        "TESSERA_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the live server did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        asyncio.run(_drop_database(server_url, name))
