"""A slow database is not an outage: no slot is checked twice while Postgres is reachable.

Worker A reaches Postgres through a loopback TCP proxy that the test can stall (bytes are held,
nothing is closed), so A's claims run into its scheduler timeout while worker B, connected
directly, keeps claiming. A must not go offline and run its targets on its own grid: B owns
those slots now.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit, urlunsplit

from .conftest import Servers, add_target, running_worker, worker_settings


class StallProxy:
    """Forwards 127.0.0.1:port to Postgres; while stalled it holds every byte (and new
    connections) without closing anything, like an overloaded server or a congested link."""

    def __init__(self, db_url: str) -> None:
        parts = urlsplit(db_url)
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
        port = int(query.get("port", [parts.port or 5432])[0])
        self._unix = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self._tcp = (host, port)
        self._url = parts
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        user = self._url.username or "postgres"
        auth = f"{user}:{self._url.password}" if self._url.password else user
        return urlunsplit(("postgresql", f"{auth}@127.0.0.1:{port}", self._url.path, "", ""))

    async def close(self) -> None:
        self.flowing.set()
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        if self._unix:
            up_reader, up_writer = await asyncio.open_unix_connection(self._unix)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self._tcp)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self.flowing.wait()
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            dst.close()


async def test_stalled_database_is_not_offline_and_no_slot_runs_twice(
    db, db_url: str, servers: Servers
) -> None:
    ids = [await add_target(db, f"t{i}", "tcp", servers.listening, interval_s=1) for i in range(12)]
    proxy = StallProxy(db_url)
    slow_url = await proxy.start()
    offline_seen = False
    try:
        async with (
            running_worker(worker_settings(slow_url, worker_db_timeout_s=0.3)) as a,
            running_worker(worker_settings(db_url)),
        ):
            await asyncio.sleep(1.5)
            # Short stalls past A's 0.3 s timeout: each claim round of A times out (when the
            # stall ends, as asyncpg releases the connection) while B keeps claiming.
            for _ in range(6):
                proxy.flowing.clear()
                await asyncio.sleep(0.7)
                proxy.flowing.set()
                for _ in range(5):
                    await asyncio.sleep(0.1)
                    offline_seen = offline_seen or a.scheduler.offline
            await asyncio.sleep(1.5)
    finally:
        await proxy.close()
    assert not offline_seen, "a stalled (reachable) database put worker A into offline mode"
    twice = await db.fetch(
        "SELECT target_id, due_at, count(*) FROM checks GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert twice == [], f"slots checked twice: {twice[:5]}"
    for tid in ids:
        dues = [
            r[0]
            for r in await db.fetch(
                "SELECT due_at FROM checks WHERE target_id = $1 ORDER BY due_at", tid
            )
        ]
        # Checks went on through the stalls (B claimed what A could not). A claim that timed
        # out may still have committed, so a slot can be missed, but never run twice.
        assert len(dues) >= 6, (tid, dues)
