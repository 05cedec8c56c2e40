"""The dedicated LISTEN connection: wakes the scheduler on every target change, reconnects by itself."""

from __future__ import annotations

import asyncio

import asyncpg

from vigil_core.db import connect
from vigil_core.logging import get_logger
from vigil_core.notify import TARGETS_CHANNEL, decode_target_changed

log = get_logger("vigil_worker.listener")


class Listener:
    def __init__(self, dsn: str, wake: asyncio.Event) -> None:
        self._dsn = dsn
        self._wake = wake
        self.received = 0
        self.reconnects = 0

    def _on_notify(self, conn, pid, channel, payload) -> None:
        self.received += 1
        event = decode_target_changed(payload)
        log.debug("listener.notified", op=event and event.op, target_id=event and event.id)
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.2
        first = True
        while True:
            try:
                conn = await connect(self._dsn, timeout=5)
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                log.warning("listener.connect_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            try:
                await conn.add_listener(TARGETS_CHANNEL, self._on_notify)
                if not first:
                    self.reconnects += 1
                log.info("listener.listening", channel=TARGETS_CHANNEL, reconnects=self.reconnects)
                first = False
                backoff = 0.2
                # Notifications sent while we were away are gone: resync by waking the scheduler.
                self._wake.set()
                await lost.wait()
                log.warning("listener.lost")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("listener.failed", error=repr(exc))
            finally:
                if not conn.is_closed():
                    conn.terminate()
