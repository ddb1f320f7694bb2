"""`python -m app.serve`: run the service under uvicorn, with the process's one log format, the
Prometheus multiprocess folder its workers share, and a start-up banner.

    python -m app.serve [--host 127.0.0.1] [--port 8000] [--workers 1]
                        [--timeout-graceful-shutdown 20]

Each option can also come from the environment: TESSERA_HOST, PORT, WEB_CONCURRENCY,
TESSERA_GRACEFUL_SHUTDOWN_SECONDS. TESSERA_SHOW_ADMIN_KEY=1 (set by `make run`, for its local
database only) adds the admin key from TESSERA_BOOTSTRAP_ADMIN_KEY to the banner.
"""

import argparse
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from app.logs import configure_logging, logging_config
from app.settings import LogSettings

logger = logging.getLogger("tessera.serve")
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m app.serve", description="Serve Tessera under uvicorn."
    )
    parser.add_argument("--host", default=env.get("TESSERA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(env.get("WEB_CONCURRENCY", "1")))
    parser.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=int(env.get("TESSERA_GRACEFUL_SHUTDOWN_SECONDS", "20")),
        help="seconds in-flight requests get to finish after SIGTERM (default 20)",
    )
    options = parser.parse_args(argv)
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    return options


def prepare_metrics_dir() -> Path | None:
    """Make PROMETHEUS_MULTIPROC_DIR an empty folder before any worker imports the metrics
    (prometheus_client picks file-backed values at import): the given one, emptied of a
    previous run's files, or a new temporary one. Returns the folder to delete at exit."""
    given = os.environ.get(METRICS_DIR)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return None
    folder = Path(tempfile.mkdtemp(prefix="tessera-metrics-"))
    os.environ[METRICS_DIR] = str(folder)
    return folder


def _banner(host: str, port: int, workers: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    logger.info(
        "Tessera listening on %s (%d worker%s); API docs at %s/docs, metrics at %s/metrics",
        base,
        workers,
        "" if workers == 1 else "s",
        base,
        base,
    )
    key = os.environ.get("TESSERA_BOOTSTRAP_ADMIN_KEY")
    if key and os.environ.get("TESSERA_SHOW_ADMIN_KEY") == "1":
        logger.info(
            "local admin key (installed at start-up while no admin key exists): "
            "Authorization: Bearer %s",
            key,
        )


def main(argv: Sequence[str] | None = None) -> None:
    options = _options(argv)
    log = LogSettings()
    configure_logging(log.log_format, log.log_level)
    created = prepare_metrics_dir()
    try:
        _banner(options.host, options.port, options.workers)
        uvicorn.run(
            "app.asgi:app",
            host=options.host,
            port=options.port,
            workers=options.workers,
            log_config=logging_config(log.log_format, log.log_level),
            access_log=False,
            timeout_graceful_shutdown=options.timeout_graceful_shutdown,
        )
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)


if __name__ == "__main__":
    main()
