"""vigil_core.listen against the real database: it hears, reconnects, notices a silent peer, stops."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from vigil_core.listen import Backoff, ListenConnection

from .support import database_url_for

pytestmark = pytest.mark.timeout(60)

CHANNEL = "vigil_test_listen"
QUICK = Backoff(first_s=0.05, max_s=0.2)


class Recorder:
    """What a ListenConnection told its owner: payloads heard and (re)connects, awaitable."""

    def __init__(self) -> None:
        self.payloads: asyncio.Queue[str] = asyncio.Queue()
        self.connects: asyncio.Queue[bool] = asyncio.Queue()

    def heard(self, payload: str) -> None:
        self.payloads.put_nowait(payload)

    def connected(self, reconnected: bool) -> None:
        self.connects.put_nowait(reconnected)


@asynccontextmanager
async def running(listen: ListenConnection) -> AsyncIterator[asyncio.Task[None]]:
    """run() as a task for the block; cancelled (and awaited) on exit."""
    task = asyncio.create_task(listen.run(), name="listen-under-test")
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(
    predicate: Callable[[], Awaitable[object] | object], what: str, timeout: float = 10
) -> None:
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        assert time.monotonic() < end, f"{what} not reached within {timeout}s"
        await asyncio.sleep(0.01)


def _listener(dsn: str, rec: Recorder, **kw: object) -> ListenConnection:
    return ListenConnection(
        dsn, {CHANNEL: rec.heard}, on_connect=rec.connected, backoff=kw.pop("backoff", QUICK), **kw
    )  # type: ignore[arg-type]


async def _backend_gone(db: asyncpg.Connection, pid: int) -> bool:
    return not await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)


async def test_a_notification_reaches_its_callback(db, db_url: str) -> None:
    rec = Recorder()
    listen = _listener(db_url, rec)
    async with running(listen):
        assert await asyncio.wait_for(rec.connects.get(), 10) is False  # the first connect
        assert listen.connected and listen.connects == 1 and listen.reconnects == 0
        await db.execute("SELECT pg_notify($1, $2)", CHANNEL, "hello")
        assert await asyncio.wait_for(rec.payloads.get(), 2) == "hello"


async def test_a_terminated_backend_reconnects_and_calls_on_connect(db, db_url: str) -> None:
    rec = Recorder()
    listen = _listener(db_url, rec)
    async with running(listen):
        assert await asyncio.wait_for(rec.connects.get(), 10) is False
        pid = listen.conn.get_server_pid()
        assert await db.fetchval("SELECT pg_terminate_backend($1)", pid)
        assert await asyncio.wait_for(rec.connects.get(), 5) is True  # on_connect: resync now
        assert listen.reconnects == 1 and listen.connected and listen.bug is None
        assert listen.conn.get_server_pid() != pid
        await db.execute("SELECT pg_notify($1, $2)", CHANNEL, "after")
        assert await asyncio.wait_for(rec.payloads.get(), 2) == "after"


async def test_a_silent_peer_is_noticed_by_the_self_ping(db_url: str) -> None:
    ping_s = 1.0
    rec = Recorder()
    async with FreezableProxy(db_url) as proxy:
        listen = _listener(proxy.dsn, rec, ping_s=ping_s)
        async with running(listen):
            assert await asyncio.wait_for(rec.connects.get(), 10) is False
            frozen_at = time.monotonic()
            proxy.freeze()  # no byte passes any more, and nothing says the connection ended
            await until(lambda: not listen.connected, "half-open connection noticed", timeout=10)
            noticed_s = time.monotonic() - frozen_at
            # one idle interval, then one ping that never comes back; a little for the loop
            assert noticed_s < 2 * ping_s + 0.5, noticed_s
            # it connects again through the proxy (new connections pass) and asks for a resync
            assert await asyncio.wait_for(rec.connects.get(), 10) is True
            assert listen.reconnects == 1 and listen.bug is None


async def test_cancellation_closes_the_connection(db, db_url: str) -> None:
    rec = Recorder()
    listen = _listener(db_url, rec)
    task = asyncio.create_task(listen.run())
    try:
        await asyncio.wait_for(rec.connects.get(), 10)
        conn = listen.conn
        pid = conn.get_server_pid()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert conn.is_closed() and listen.conn is None and not listen.connected
    await until(lambda: _backend_gone(db, pid), "backend gone")


@pytest.fixture
def missing_db_url(pg_server_url: str) -> Iterator[str]:
    yield database_url_for(pg_server_url, f"vigil_listen_{uuid.uuid4().hex[:12]}")


async def test_a_bug_is_shown_while_it_lasts(pg_server_url: str, missing_db_url: str) -> None:
    """A server that turns the connection away (here: no such database) is fixed there, not by
    a restart: shown as `bug` and retried, even by an owner whose bugs are fatal, and cleared
    once a connection works."""
    rec = Recorder()
    listen = _listener(missing_db_url, rec, bugs_are_fatal=True)
    name = urlsplit(missing_db_url).path.lstrip("/")
    admin = await asyncpg.connect(pg_server_url)
    try:
        async with running(listen) as task:
            await until(lambda: listen.bug == "InvalidCatalogNameError(3D000)", "bug shown")
            assert not task.done() and not listen.connected
            await admin.execute(f'CREATE DATABASE "{name}"')
            assert await asyncio.wait_for(rec.connects.get(), 10) is False
            assert listen.bug is None and listen.connected
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.parametrize("fatal", [False, True], ids=["retried", "raised"])
async def test_a_client_side_bug_is_retried_or_raised(db_url: str, fatal: bool) -> None:
    """A bug of this process (here: an invalid sslmode) is retried and shown, or, for an owner
    that supervises the task (bugs_are_fatal), raised out of run()."""
    rec = Recorder()
    listen = _listener(_with_query(db_url, sslmode="bogus"), rec, bugs_are_fatal=fatal)
    async with running(listen) as task:
        if fatal:
            with pytest.raises(asyncpg.exceptions.ClientConfigurationError):
                await asyncio.wait_for(task, 5)
        else:
            await until(lambda: listen.bug == "ClientConfigurationError", "bug shown")
            assert not task.done()
    assert not listen.connected and listen.connects == 0


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


class FreezableProxy:
    """A TCP proxy on loopback in front of the test's PostgreSQL (unix socket or TCP).

    freeze() stops relaying on every pipe open now but keeps the sockets open: the client sees
    a peer that went silent without a FIN or RST, as after a network partition. Connections
    made afterwards are relayed again.
    """

    def __init__(self, db_url: str) -> None:
        parts = urlsplit(db_url)
        query = dict(parse_qsl(parts.query))
        host = query.pop("host", None) or parts.hostname or "/tmp"
        port = int(query.pop("port", None) or parts.port or 5432)
        if host.startswith("/"):
            self._open_upstream = lambda: asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        else:
            self._open_upstream = lambda: asyncio.open_connection(host, port)
        self._parts = parts._replace(query=urlencode({**query, "sslmode": "disable"}))
        self._pumps: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.dsn = ""

    async def __aenter__(self) -> FreezableProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        auth = self._parts.username or ""
        if self._parts.password:
            auth += f":{self._parts.password}"
        self.dsn = urlunsplit(self._parts._replace(netloc=f"{auth}@127.0.0.1:{port}"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.freeze()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    def freeze(self) -> None:
        for pump in self._pumps:
            pump.cancel()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await self._open_upstream()
        self._writers += [client_w, up_w]
        self._pumps += [
            asyncio.create_task(_pump(client_r, up_w)),
            asyncio.create_task(_pump(up_r, client_w)),
        ]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
