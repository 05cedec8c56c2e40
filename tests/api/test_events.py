"""Live events: worker NOTIFYs reach SSE clients within a second, through one LISTEN per process."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from vigil_api.database import Database
from vigil_api.events.hub import Event, EventHub
from vigil_core.listen import PING
from vigil_core.notify import STATUS_CHANNEL, ResultsStored, StateChanged, encode

from .conftest import HTTP_TARGET
from .sse import SSEStream


async def create(live, **fields) -> dict:
    """Create a target through the live server (the in-process client would start a second app)."""
    async with aiohttp.ClientSession(headers=live.headers) as session:
        async with session.post(
            f"{live.url}/api/v1/targets", json={**HTTP_TARGET, **fields}
        ) as resp:
            assert resp.status == 201, await resp.text()
            return await resp.json()


async def _connected(stream: SSEStream) -> None:
    msg = await stream.next()
    assert msg.comment == "connected"


async def test_state_change_reaches_the_stream_within_a_second(live, db) -> None:
    t = await create(live)
    async with SSEStream(f"{live.url}/api/v1/events", headers=live.headers) as stream:
        await _connected(stream)
        start = time.monotonic()
        # what the worker sends in the transaction that changes the state
        async with db.transaction():
            await db.execute(
                "UPDATE target_state SET status = 'down', since = now() WHERE target_id = $1",
                t["id"],
            )
            payload = encode(
                StateChanged(
                    target_id=t["id"],
                    status="down",
                    previous="up",
                    since="2026-01-01T00:00:00+00:00",
                )
            )
            await db.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, payload)
        msg = await stream.next_event("state", timeout=1.0)
        assert time.monotonic() - start < 1.0
        assert msg.json() == {
            "target_id": t["id"],
            "status": "down",
            "previous": "up",
            "since": "2026-01-01T00:00:00+00:00",
        }


async def test_results_stored_sends_the_latest_result(live, db) -> None:
    t = await create(live)
    await db.execute(
        """UPDATE target_state SET last_checked_at = now(), last_ok = false, last_latency_ms = 42,
                        last_status_code = 503, last_error_class = 'status' WHERE target_id = $1""",
        t["id"],
    )
    async with SSEStream(f"{live.url}/api/v1/events", headers=live.headers) as stream:
        await _connected(stream)
        await db.execute(
            "SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(ResultsStored(target_ids=[t["id"]]))
        )
        msg = (await stream.next_event("result", timeout=1.0)).json()
        assert {
            k: msg[k] for k in ("target_id", "ok", "latency_ms", "status_code", "error_class")
        } == {
            "target_id": t["id"],
            "ok": False,
            "latency_ms": 42.0,
            "status_code": 503,
            "error_class": "status",
        }
        assert msg["checked_at"]


async def test_target_filter_and_heartbeat(live, db) -> None:
    a, b = await create(live, name="a"), await create(live, name="b", url="http://127.0.0.1:13/")
    async with SSEStream(
        f"{live.url}/api/v1/events?target_id={b['id']}", headers=live.headers
    ) as stream:
        await _connected(stream)
        for target in (a, b):
            await db.execute(
                "SELECT pg_notify($1, $2)",
                STATUS_CHANNEL,
                encode(
                    StateChanged(
                        target_id=target["id"],
                        status="up",
                        previous="pending",
                        since="2026-01-01T00:00:00Z",
                    )
                ),
            )
        assert (await stream.next_event("state")).json()["target_id"] == b["id"]
        # nothing else for b: the next message is a heartbeat comment (every 0.3 s in the tests)
        msg = await stream.next(timeout=2)
        assert msg.comment == "heartbeat" and msg.event is None


async def test_one_listen_connection_for_many_subscribers(live, app, db) -> None:
    streams = [SSEStream(f"{live.url}/api/v1/events", headers=live.headers) for _ in range(3)]
    for s in streams:
        await s.__aenter__()
        await _connected(s)
    try:
        # The hub's backend last ran a LISTEN or its self-ping (vigil_core.listen.PING).
        listening = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND (query ILIKE 'LISTEN%' OR query = $1)",
            PING,
        )
        assert listening == 1
        assert app.state.hub.subscriber_count == 3
        await db.execute(
            "SELECT pg_notify($1, $2)",
            STATUS_CHANNEL,
            encode(
                StateChanged(
                    target_id=1, status="down", previous="up", since="2026-01-01T00:00:00Z"
                )
            ),
        )
        for s in streams:
            assert (await s.next_event("state")).json()["target_id"] == 1
    finally:
        for s in streams:
            await s.__aexit__(None, None, None)
    async with asyncio.timeout(5):
        while app.state.hub.subscriber_count:
            await asyncio.sleep(0.02)


async def test_slow_subscriber_is_dropped_not_buffered() -> None:
    hub = EventHub(Database("postgresql://127.0.0.1:9/never-connected"), queue_size=3)
    slow, fast = hub.subscribe(), hub.subscribe()
    for i in range(5):
        hub.publish(Event("state", f'{{"n": {i}}}', 1))
        if not fast.queue.empty():
            fast.queue.get_nowait()  # a client that keeps up
    assert slow.dropped and not fast.dropped
    assert slow.queue.qsize() == 3  # bounded: never more than the queue holds
    assert hub.subscriber_count == 1 and hub.dropped_total == 1


async def test_sigterm_stops_the_api_with_a_stream_open(db_url: str, admin_headers) -> None:
    """An open browser tab must not hold `vigil api` up: SIGTERM ends it within the grace period."""
    from vigil_api.app import GRACEFUL_SHUTDOWN_S

    from ..support import free_port, spawn_vigil, stop_process, wait_http_ok

    port = free_port()
    api = spawn_vigil(["api", "--port", str(port)], {"VIGIL_DATABASE_URL": db_url})
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/readyz", proc=api)
        async with SSEStream(
            f"http://127.0.0.1:{port}/api/v1/events", headers=admin_headers
        ) as stream:
            await _connected(stream)
            started = time.monotonic()
            api.terminate()
            while api.poll() is None and time.monotonic() - started < GRACEFUL_SHUTDOWN_S + 10:
                await asyncio.sleep(0.1)
            stopped_after = time.monotonic() - started
        assert api.poll() is not None, "vigil api still runs with an SSE client connected"
        assert stopped_after < GRACEFUL_SHUTDOWN_S + 5
    finally:
        stop_process(api)


async def test_a_stream_ends_when_its_token_is_revoked(live, db_url) -> None:
    from vigil_core import accounts
    from vigil_core.db import connect

    from ..support import bearer, mint_token

    token = await mint_token(db_url, "read", name="stream-reader")
    async with SSEStream(f"{live.url}/api/v1/events", headers=bearer(token)) as stream:
        await _connected(stream)
        conn = await connect(db_url)
        try:
            assert await accounts.revoke_token(conn, "stream-reader")
        finally:
            await conn.close()
        # The stream re-checks its token (on the NOTIFY, or at the next heartbeat) and ends.
        async with asyncio.timeout(5):
            while True:
                try:
                    await stream.next(timeout=5)
                except (EOFError, ConnectionError, aiohttp.ClientPayloadError):
                    break
