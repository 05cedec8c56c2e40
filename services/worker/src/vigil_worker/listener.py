"""The dedicated LISTEN connection: hands target changes to the scheduler and proves it is alive.

Notifications sent while the connection is down are lost, so every (re)connect asks the
scheduler for a full resync. A silent half-open connection would hide that loss, so every
`ping_s` the listener NOTIFYs a channel of its own and expects the message back within
`ping_s`; if it does not come, the connection is dropped and re-established.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg

from vigil_core.db import connect, load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.logging import get_logger
from vigil_core.notify import TARGETS_CHANNEL, decode_target_changed

from .metrics import WorkerMetrics
from .scheduler import Scheduler

Q = load_queries(__package__)
log = get_logger("vigil_worker.listener")


class Listener:
    def __init__(self, dsn: str, scheduler: Scheduler, metrics: WorkerMetrics,
                 ping_s: float = 10.0) -> None:
        self._dsn = dsn
        self._scheduler = scheduler
        self._metrics = metrics
        self._ping_s = ping_s
        self._ping_channel = f"vigil_ping_{uuid.uuid4().hex[:16]}"
        self._pong = asyncio.Event()
        self._ping_token = ""
        self.connected = False
        self.conn: asyncpg.Connection | None = None  # exposed for tests and health
        self.reconnects = 0
        self.bug: str | None = None

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if channel == self._ping_channel:
            if payload == self._ping_token:
                self._pong.set()
            return
        self._metrics.notifications.inc()
        event = decode_target_changed(payload)
        if event is None:
            log.warning("listener.bad_payload", payload=payload[:200])
            self._scheduler.resync()
            return
        log.debug("listener.notified", op=event.op, target_id=event.id)
        self._scheduler.notify_changed(event.id)

    async def run(self) -> None:
        backoff = 0.2
        first = True
        while True:
            try:
                conn = await connect(self._dsn, timeout=5)
            except Exception as exc:  # noqa: BLE001 - classified right below
                delay = backoff * random.uniform(0.8, 1.2)
                self._log_failure("listener.connect_failed", exc, retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, 10.0)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            self.conn = conn
            try:
                await conn.add_listener(TARGETS_CHANNEL, self._on_notify)
                await conn.add_listener(self._ping_channel, self._on_notify)
                self.connected, self.bug = True, None
                if not first:
                    self.reconnects += 1
                    self._metrics.listener_reconnects.inc()
                log.info("listener.listening", channel=TARGETS_CHANNEL, reconnects=self.reconnects)
                first = False
                backoff = 0.2
                # Notifications sent while we were away are gone: resync in full.
                self._scheduler.resync()
                await self._watch(conn, lost)
            except Exception as exc:  # noqa: BLE001 - classified right below
                # A call on the connection just lost is asyncpg's InterfaceError: that is the
                # loss itself, not a bug.
                self._log_failure("listener.failed", exc, closed=conn.is_closed())
            finally:
                self.connected = False
                self.conn = None
                if not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(0.05 * random.uniform(1, 3))

    def _log_failure(self, event: str, exc: BaseException, closed: bool = False,
                     **kw: object) -> None:
        """Any failure ends in a reconnect; a bug is logged with its traceback and shown in
        /healthz (self.bug) until a connection works again."""
        if closed or classify(exc) in (DbFault.LOST, DbFault.BUSY):
            log.warning(event, error=repr(exc), **kw)
            return
        self.bug = describe(exc)
        log.error(event, error=self.bug, exc_info=exc, **kw)

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is lost or stops answering its own pings."""
        while True:
            try:
                async with asyncio.timeout(self._ping_s):
                    await lost.wait()
                log.warning("listener.lost")
                return
            except TimeoutError:
                pass
            started = time.perf_counter()
            self._ping_token = uuid.uuid4().hex
            self._pong.clear()
            try:
                async with asyncio.timeout(self._ping_s):
                    await conn.execute(Q["listener_ping"], self._ping_channel, self._ping_token)
                    await self._pong.wait()
            except TimeoutError:
                log.warning("listener.ping_timeout", timeout_s=self._ping_s)
                return
            log.debug("listener.pong", rtt_ms=round((time.perf_counter() - started) * 1000, 2))
