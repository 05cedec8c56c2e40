"""The worker's LISTEN connection: hands target changes to the scheduler and maintenance window
changes to the windows task, resyncs both after every connect.

The connection's lifecycle (self-ping, reconnect with backoff, failure classification) is
vigil_core.listen's; notifications sent while it was down are gone, so every (re)connect asks
the scheduler for a full resync and the windows task for a look. A bug is retried and shown in
/healthz (`bug`) while it lasts.
"""

from __future__ import annotations

import asyncpg

from vigil_core.listen import Backoff, ListenConnection
from vigil_core.logging import get_logger
from vigil_core.notify import MAINTENANCE_CHANNEL, TARGETS_CHANNEL, decode_target_changed

from .metrics import WorkerMetrics
from .scheduler import Scheduler
from .windows import MaintenanceWindows

log = get_logger("vigil_worker.listener")

BACKOFF = Backoff(first_s=0.2, max_s=10.0)


class Listener:
    def __init__(
        self,
        dsn: str,
        scheduler: Scheduler,
        metrics: WorkerMetrics,
        ping_s: float = 10.0,
        *,
        windows: MaintenanceWindows | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._metrics = metrics
        self._windows = windows
        handlers = {TARGETS_CHANNEL: self._on_target_changed}
        if windows is not None:
            handlers[MAINTENANCE_CHANNEL] = self._on_maintenance_changed
        self._listen = ListenConnection(
            dsn,
            handlers,
            on_connect=self._on_connect,
            ping_s=ping_s,
            connect_timeout_s=5.0,
            backoff=BACKOFF,
            log=log,
            events="listener",
        )

    @property
    def connected(self) -> bool:
        return self._listen.connected

    @property
    def reconnects(self) -> int:
        return self._listen.reconnects

    @property
    def conn(self) -> asyncpg.Connection | None:
        """The live connection (tests terminate its backend)."""
        return self._listen.conn

    @property
    def bug(self) -> str | None:
        return self._listen.bug

    async def run(self) -> None:
        await self._listen.run()

    def _on_connect(self, reconnected: bool) -> None:
        if reconnected:
            self._metrics.listener_reconnects.inc()
        # Notifications sent while we were away are gone: resync in full.
        self._scheduler.resync()
        if self._windows is not None:
            self._windows.resync()

    def _on_target_changed(self, payload: str) -> None:
        self._metrics.notifications.inc()
        event = decode_target_changed(payload)
        if event is None:
            log.warning("listener.bad_payload", payload=payload[:200])
            self._scheduler.resync()
            return
        log.debug("listener.notified", op=event.op, target_id=event.id)
        self._scheduler.notify_changed(event.id)

    def _on_maintenance_changed(self, payload: str) -> None:
        assert self._windows is not None  # listened on only with a windows task
        log.debug("listener.maintenance_changed")
        self._windows.notified()
