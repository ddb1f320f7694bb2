"""The process level: metrics merged over workers, `python -m app.serve` (banner, uvicorn's logs
in our format, one /metrics for two workers) and alembic logging without the full settings."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Tessera's settings, DATABASE_URL or a metrics folder."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TESSERA_")
        and name not in {"DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "PORT", "WEB_CONCURRENCY"}
    }
    return env | extra


def python(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (found.name, frozenset(found.labels.items())): float(found.value)
        for family in text_string_to_metric_families(exposition)
        for found in family.samples
    }


WORKER = """
from app import metrics
metrics.failed_guesses({guesses}, addressed=True)
metrics.http_request("POST", "/v1/validate", 200, 0.002)
metrics.connection_checked_out()
"""

ADDRESSED = frozenset({("addressed", "true")})
SCRAPER = """
import sys
from app import metrics
if sys.argv[-1] == "forget":
    metrics.forget_dead_processes()
sys.stdout.write(metrics.render()[0].decode())
"""


def test_metrics_of_two_processes_are_merged(tmp_path: Path) -> None:
    env = clean_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    python(WORKER.format(guesses=2), env)
    python(WORKER.format(guesses=3), env)
    validate = frozenset({("method", "POST"), ("route", "/v1/validate"), ("status", "200")})

    merged = samples(python(SCRAPER, env))
    assert merged["tessera_failed_guesses_total", ADDRESSED] == 5
    assert merged["tessera_http_requests_total", validate] == 2
    assert merged["tessera_http_request_duration_seconds_count", validate] == 2
    # Both exited without saying so: their connections still count until someone notices.
    assert merged["tessera_db_pool_connections_in_use", frozenset()] == 2

    noticed = samples(python(SCRAPER, env, "forget"))
    assert noticed["tessera_failed_guesses_total", ADDRESSED] == 5
    assert noticed["tessera_db_pool_connections_in_use", frozenset()] == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped while starting"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not answer /healthz within 60 s")


def test_serve_with_two_workers(database_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(DATABASE_URL=database_url, TESSERA_LOG_FORMAT="json")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_up(base, server)
        for _ in range(10):
            # A new connection each time, so that either worker may answer.
            httpx.get(f"{base}/healthz", timeout=5)
            httpx.get(f"{base}/v1/gift-cards/SECRET-GIFT-CODE", timeout=5)
        exposition = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output

    healthz = frozenset({("method", "GET"), ("route", "/healthz"), ("status", "200")})
    assert samples(exposition)["tessera_http_requests_total", healthz] == 11
    lines: list[dict[str, Any]] = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["logger"] == "tessera.serve"
    assert f"listening on {base} (2 workers)" in lines[0]["msg"]
    assert f"{base}/docs" in lines[0]["msg"]
    started = [line for line in lines if line["msg"].startswith("Started server process")]
    assert len(started) == 2
    assert all(line["ts"].endswith("Z") for line in lines)
    assert "SECRET-GIFT-CODE" not in output
    assert "admin key" not in output


def test_alembic_logs_in_our_format_without_the_settings(database_url: str) -> None:
    # Only the URL (which any migration needs) and the log format: no other setting.
    env = clean_env(DATABASE_URL=database_url, TESSERA_LOG_FORMAT="json")
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines
    assert {line["logger"] for line in lines} == {"alembic.runtime.migration"}
