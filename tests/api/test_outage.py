"""Database outages: the API starts without Postgres, answers 503 while it is down, and recovers
with no restart, live-event stream included. Runs on a cluster of its own, restarted mid-test
with pgserver's pg_ctl, so the shared session cluster is never touched."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest

from vigil_core import embedded_pg, migrations
from vigil_core.notify import STATUS_CHANNEL, StateChanged, encode

from ..support import bearer, mint_token
from .conftest import HTTP_TARGET, LiveServer, make_app
from .sse import SSEStream


class RestartablePostgres:
    """A pgserver cluster that the test can stop and start again at the same address."""

    def __init__(self, base: Path) -> None:
        self.pgdata = base / "pgdata"
        self.url = embedded_pg.start(self.pgdata)
        self.socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]

    def stop(self) -> None:
        embedded_pg.stop(self.pgdata)

    def start(self) -> None:
        import pgserver

        pgserver.pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.pgdata / "log"),
                "start",
            ],
            pgdata=self.pgdata,
            user="pgserver" if os.geteuid() == 0 else None,
        )


@pytest.fixture
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartablePostgres]:
    server = RestartablePostgres(tmp_path_factory.mktemp("outage"))
    migrations.apply(server.url)
    try:
        yield server
    finally:
        server.stop()


async def _status(session: aiohttp.ClientSession, method: str, url: str, **kw) -> tuple[int, dict]:
    async with session.request(method, url, **kw) as resp:
        if "json" not in resp.headers.get("content-type", ""):
            return resp.status, {}
        return resp.status, await resp.json(content_type=None)


async def _until(
    session: aiohttp.ClientSession, url: str, status: int, deadline_s: float = 15
) -> None:
    end = time.monotonic() + deadline_s
    got = None
    while time.monotonic() < end:
        got, _ = await _status(session, "GET", url)
        if got == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} answered {got}, not {status}, within {deadline_s}s")


async def test_api_starts_without_database_and_survives_a_restart(pg) -> None:
    headers = bearer(await mint_token(pg.url, "admin"))
    pg.stop()
    async with (
        LiveServer(make_app(pg.url, sse_heartbeat_s=0.5)) as live,
        aiohttp.ClientSession(headers=headers) as s,
    ):
        base = live.url
        # down from the start: the process runs, says it is alive, and not ready
        assert (await _status(s, "GET", f"{base}/healthz"))[0] == 200
        assert (await _status(s, "GET", f"{base}/readyz"))[0] == 503
        for method, path, body in [
            ("GET", "/api/v1/targets", None),
            ("POST", "/api/v1/targets", HTTP_TARGET),
            ("GET", "/api/v1/summary", None),
        ]:
            started = time.monotonic()
            status, problem = await _status(s, method, f"{base}{path}", json=body)
            assert status == 503 and problem["title"] == "Database unavailable", (path, problem)
            assert time.monotonic() - started < 2, path  # at once, not after a connect timeout
        await _assert_retry_after(s, f"{base}/api/v1/targets")
        # A token never checked cannot be checked now: 503 too, not 401.
        await _assert_retry_after(s, f"{base}/metrics")

        pg.start()
        await _until(s, f"{base}/readyz", 200)
        status, target = await _status(s, "POST", f"{base}/api/v1/targets", json=HTTP_TARGET)
        assert status == 201, target

        async with SSEStream(f"{base}/api/v1/events", headers=headers) as stream:
            assert (await stream.next()).comment == "connected"
            await _until_listening(live)

            pg.stop()  # mid-test: the database goes away under open connections
            await _until(s, f"{base}/readyz", 503)
            status, problem = await _status(s, "GET", f"{base}/api/v1/targets/{target['id']}")
            assert status == 503 and problem["status"] == 503
            await _assert_retry_after(s, f"{base}/api/v1/targets/{target['id']}")
            assert (await _status(s, "GET", f"{base}/healthz"))[0] == 200
            # The token was checked while the database was up, so Prometheus keeps scraping.
            assert (await _status(s, "GET", f"{base}/metrics"))[0] == 200
            assert (await stream.next(timeout=3)).comment == "heartbeat"  # the stream stays open

            pg.start()
            await _until(s, f"{base}/readyz", 200)
            await _until(s, f"{base}/api/v1/targets/{target['id']}", 200)
            # the same stream, without reconnecting: told to resync, then live again
            assert (await stream.next_event("resync", timeout=15)).json() == {
                "reason": "reconnected"
            }
            conn = await asyncpg.connect(pg.url)
            try:
                await conn.execute(
                    "SELECT pg_notify($1, $2)",
                    STATUS_CHANNEL,
                    encode(
                        StateChanged(
                            target_id=target["id"],
                            status="down",
                            previous="up",
                            since="2026-01-01T00:00:00Z",
                        )
                    ),
                )
            finally:
                await conn.close()
            assert (await stream.next_event("state", timeout=2)).json()["target_id"] == target["id"]
        # an outage is no bug: the side tasks outlived it, and /healthz never failed
        assert live.server.config.app.state.hub.dead == {}
        assert (await _status(s, "GET", f"{base}/healthz"))[0] == 200


async def _assert_retry_after(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as resp:
        assert resp.status == 503 and resp.headers.get("Retry-After") == "1", (url, resp.headers)


async def _until_listening(live: LiveServer) -> None:
    hub = live.server.config.app.state.hub
    async with asyncio.timeout(10):
        await hub.listening.wait()
