"""A dedicated LISTEN connection that proves it is alive and reconnects: one lifecycle for every listener.

Notifications sent while the connection is down are gone, so the owner's `on_connect` runs
after every (re)connect, once the channels are listened on, to resync from the tables. A silent
half-open connection would hide that loss for as long as the kernel keeps the socket, so every
`ping_s` the connection NOTIFYs a channel of its own and expects the message back within
`ping_s` (pgqueuer's health check): a half-open connection is dropped and re-established
within about twice `ping_s`. Failures are classified by vigil_core.dberrors: a lost or busy
database is a warning and a retry; a bug is logged with its traceback and shown in `bug` until a
connection works again, or, for an owner that supervises its task (`bugs_are_fatal`), raised.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg
from structlog.typing import FilteringBoundLogger

from .db import connect
from .dberrors import DbFault, classify, describe
from .logging import get_logger

# The self-ping: a NOTIFY on a channel that only this connection listens on.
PING = "SELECT pg_notify($1, $2)"
# After a connection that worked is lost, retry at once, but never in a tight loop.
RECONNECT_PAUSE_S = 0.05

Handler = Callable[[str], None]  # called with a notification's payload
OnConnect = Callable[[bool], None]  # called with True after a reconnect, False the first time


@dataclass(frozen=True)
class Backoff:
    """Delays between failed attempts: exponential up to `max_s`, each scaled by a random factor
    in [1 - jitter, 1 + jitter] so that many processes do not reconnect in step."""

    first_s: float = 0.2
    max_s: float = 10.0
    jitter: float = 0.2

    def delay(self, failures: int) -> float:
        """The pause after `failures` consecutive failed attempts (1 or more)."""
        base = min(self.first_s * 2 ** min(failures - 1, 32), self.max_s)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


class ListenConnection:
    """LISTEN on `handlers`' channels until cancelled; see the module docstring.

    `events` prefixes the log events (`<events>.listening`, `.lost`, `.ping_timeout`,
    `.connect_failed`, `.failed`, `.pong`), so each owner keeps its own stable names.
    """

    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Handler],
        *,
        on_connect: OnConnect | None = None,
        ping_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        bugs_are_fatal: bool = False,
        log: FilteringBoundLogger | None = None,
        events: str = "listen",
    ) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self._on_connect = on_connect or _ignore
        self._ping_s = ping_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = backoff or Backoff()
        self._bugs_are_fatal = bugs_are_fatal
        self._log = log or get_logger("vigil_core.listen")
        self._events = events
        self._ping_channel = f"vigil_ping_{uuid.uuid4().hex[:16]}"
        self._ping_token = ""
        self._pong = asyncio.Event()
        # Set while the channels are listened on; cleared as soon as the connection is lost.
        self.listening = asyncio.Event()
        self.conn: asyncpg.Connection | None = None  # the live connection, for tests and health
        self.connects = 0
        self.bug: str | None = None

    @property
    def connected(self) -> bool:
        return self.listening.is_set()

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    async def run(self) -> None:
        """Connect, listen and watch, and again after every loss, until cancelled."""
        failures = 0
        while True:
            failures = 0 if await self._session() else failures + 1
            pause = (
                self._backoff.delay(failures)
                if failures
                else RECONNECT_PAUSE_S * random.uniform(1, 3)
            )
            await asyncio.sleep(pause)

    async def _session(self) -> bool:
        """One connection, from connect to its loss; True if it got as far as listening."""
        try:
            # Named after its events, so pg_stat_activity tells a process's listeners apart.
            conn = await connect(
                self._dsn,
                timeout=self._connect_timeout_s,
                server_settings={"application_name": f"vigil {self._events}"},
            )
        except Exception as exc:  # noqa: BLE001 - classified in _failed
            self._failed("connect_failed", exc, lost=False, connecting=True)
            return False
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        self.conn = conn
        listened = False
        try:
            await self._listen(conn)
            listened = True
            await self._watch(conn, lost)
        except Exception as exc:  # noqa: BLE001 - classified in _failed
            self._failed("failed", exc, lost=conn.is_closed() or lost.is_set())
        finally:
            self.listening.clear()
            self.conn = None
            if not conn.is_closed():
                conn.terminate()
        return listened

    async def _listen(self, conn: asyncpg.Connection) -> None:
        async with asyncio.timeout(self._connect_timeout_s):
            for channel in (*self._handlers, self._ping_channel):
                await conn.add_listener(channel, self._dispatch)
        # Only now, listening, is a resync sure to miss nothing.
        self._on_connect(self.connects > 0)
        self.connects += 1
        self.bug = None
        self.listening.set()
        self._log.info(
            self._event("listening"), channels=sorted(self._handlers), reconnects=self.reconnects
        )

    def _dispatch(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if channel == self._ping_channel:
            if payload == self._ping_token:
                self._pong.set()
            return
        self._handlers[channel](str(payload))

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is lost or stops answering its own pings."""
        while True:
            try:
                async with asyncio.timeout(self._ping_s):
                    await lost.wait()
                self._log.warning(self._event("lost"))
                return
            except TimeoutError:
                pass
            if not await self._ping(conn):
                self._log.warning(self._event("ping_timeout"), timeout_s=self._ping_s)
                return

    async def _ping(self, conn: asyncpg.Connection) -> bool:
        """NOTIFY our own channel; True when the message came back within `ping_s`."""
        started = time.perf_counter()
        self._ping_token = uuid.uuid4().hex
        self._pong.clear()
        try:
            async with asyncio.timeout(self._ping_s):
                await conn.execute(PING, self._ping_channel, self._ping_token)
                await self._pong.wait()
        except TimeoutError:
            return False
        self._log.debug(
            self._event("pong"), rtt_ms=round((time.perf_counter() - started) * 1000, 2)
        )
        return True

    def _failed(self, what: str, exc: Exception, *, lost: bool, connecting: bool = False) -> None:
        """Log a failure that ends in a reconnect, or raise it (a bug, for a supervising owner).

        A call on a connection just lost is asyncpg's InterfaceError: that is the loss itself.
        A server that turns us away when connecting (authentication, no such database) is
        fixed there, not by a restart: shown as a bug, and retried.
        """
        fault = DbFault.LOST if lost else classify(exc)
        if fault in (DbFault.LOST, DbFault.BUSY):
            self._log.warning(
                self._event(what), fault=fault.value, error=describe(exc), detail=str(exc)
            )
            return
        refused = connecting and isinstance(exc, asyncpg.PostgresError)
        if self._bugs_are_fatal and not refused:
            raise exc
        # The traceback once per bug: the same one at every retry would bury everything else.
        repeated = self.bug == describe(exc)
        self.bug = describe(exc)
        self._log.error(
            self._event(what),
            fault=fault.value,
            error=self.bug,
            repeated=repeated,
            exc_info=False if repeated else exc,
        )

    def _event(self, what: str) -> str:
        return f"{self._events}.{what}"


def _ignore(reconnected: bool) -> None:
    pass
