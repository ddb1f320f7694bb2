"""Faults to put between the service and PostgreSQL in tests."""

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit


class FreezableProxy:
    """A TCP proxy in front of a PostgreSQL server that can freeze the way a SIGSTOPped server
    does: connections are still accepted (the kernel completes the handshake), bytes sent are
    taken, and nothing comes back, either way, until it thaws."""

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url.replace("+asyncpg", ""))
        query = parse_qs(parts.query)
        socket_dir = query.get("host", [None])[0]
        port = parts.port or int(query.get("port", ["5432"])[0])
        if socket_dir is not None and socket_dir.startswith("/"):
            self._unix_path: str | None = f"{socket_dir}/.s.PGSQL.{port}"
        else:
            self._unix_path = None
        self._upstream = (parts.hostname or "127.0.0.1", port)
        self._user = parts.username or "postgres"
        self._password = parts.password or ""
        self._thawed = asyncio.Event()
        self._thawed.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    def url(self, database: str) -> str:
        """A postgresql:// URL of database through this proxy."""
        return f"postgresql://{self._user}:{self._password}@127.0.0.1:{self.port}/{database}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    async def close(self) -> None:
        self.thaw()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    def _spawn(self, coroutine: "asyncio.Future[None] | asyncio.Task[None] | object") -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._thawed.wait()
        try:
            if self._unix_path is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self._unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        self._spawn(self._pipe(reader, up_writer))
        self._spawn(self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65_536):
                await self._thawed.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
