"""One LISTEN connection per API process, fanned out to every SSE subscriber.

The hub LISTENs on `vigil_status` (sent by the worker), turns each notification into events,
and puts them on each subscriber's bounded queue; it also LISTENs on `vigil_targets` so that
the summary's cached counts are dropped on any write, on `vigil_auth` so that the credential
cache forgets revoked tokens and sessions, and on `vigil_maintenance` so that a window written
anywhere reaches clients as a `maintenance` event (as a window's start or end does, which the
worker sends on `vigil_status`). A subscriber whose queue is full is too slow:
it is dropped (its stream ends) rather than buffered without bound. The connection's lifecycle is
vigil_core.listen's: it proves it is alive by a NOTIFY to itself, and after it is lost the hub
reconnects with backoff, re-LISTENs, drops the cached counts and tells subscribers to `resync`
(notifications sent while it was away are gone), all without the clients reconnecting.

The hub runs two side tasks for the life of the process, the LISTEN loop and the results
fetcher. Both retry what vigil_core.dberrors calls a lost or busy database (the LISTEN loop also
a server that turns it away, and the fetcher drops a batch of bad data); a bug would repeat for
ever, so the task dies, is logged with its traceback (`events.task_died`) and stays in `dead`,
which fails /healthz so that the orchestrator restarts the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec

from vigil_core.db import load_queries
from vigil_core.dberrors import DbFault, classify, describe
from vigil_core.listen import Backoff, ListenConnection
from vigil_core.logging import get_logger
from vigil_core.notify import (
    AUTH_CHANNEL,
    MAINTENANCE_CHANNEL,
    STATUS_CHANNEL,
    TARGETS_CHANNEL,
    MaintenanceChanged,
    ResultsStored,
    StateChanged,
    decode_status_event,
)

from ..database import CONNECT_TIMEOUT_S, Database
from ..errors import DatabaseUnavailable

Q = load_queries(__package__)
log = get_logger("vigil_api.events")

QUEUE_SIZE = 1000
PING_INTERVAL_S = 10.0
BACKOFF = Backoff(first_s=0.1, max_s=5.0)


class Event(msgspec.Struct, frozen=True):
    event: str  # state | result | maintenance | resync
    data: str  # JSON
    target_id: int | None = None


class Subscriber:
    """One SSE client: a bounded queue, and an optional set of target ids it wants."""

    def __init__(self, target_ids: frozenset[int] | None, maxsize: int) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.target_ids = target_ids
        self.dropped = False

    def wants(self, event: Event) -> bool:
        return (
            self.target_ids is None or event.target_id is None or event.target_id in self.target_ids
        )


class EventHub:
    def __init__(
        self,
        db: Database,
        *,
        queue_size: int = QUEUE_SIZE,
        on_change: Callable[[], None] | None = None,
        on_auth_change: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        # Called when a credential is revoked or a user changes, and on (re)connect: the
        # credential cache drops what may be stale.
        self._on_auth_change = on_auth_change or (lambda: None)
        # Called on every state change and target write heard, and on (re)connect, when some
        # may have been missed (the summary's cached counts).
        self._on_change = on_change or (lambda: None)
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._pending_results: set[int] = set()
        self._results_wake = asyncio.Event()
        # A bug on the connection raises, so that the task dies and fails /healthz (_watch).
        self._listen = ListenConnection(
            db.dsn,
            {
                STATUS_CHANNEL: self._on_notify,
                TARGETS_CHANNEL: self._on_target_changed,
                AUTH_CHANNEL: self._on_auth_changed,
                MAINTENANCE_CHANNEL: self._on_maintenance_written,
            },
            on_connect=self._on_connect,
            ping_s=PING_INTERVAL_S,
            connect_timeout_s=CONNECT_TIMEOUT_S,
            backoff=BACKOFF,
            bugs_are_fatal=True,
            log=log,
            events="events",
        )
        self.dropped_total = 0
        self._tasks: dict[str, asyncio.Task] = {}
        # Side tasks that ended by themselves: name -> what ended them.
        self.dead: dict[str, str] = {}

    # Subscribers -------------------------------------------------------------------------

    def subscribe(self, target_ids: frozenset[int] | None = None) -> Subscriber:
        sub = Subscriber(target_ids, self._queue_size)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        for sub in list(self._subscribers):
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.dropped = True
                self._subscribers.discard(sub)
                self.dropped_total += 1
                log.warning("events.subscriber_dropped", queued=sub.queue.qsize())

    # The side tasks ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the LISTEN loop and the results fetcher as watched tasks."""
        for name, run in (("events-hub", self._run), ("events-results", self._fetch_results)):
            task = asyncio.create_task(run(), name=name)
            task.add_done_callback(self._watch)
            self._tasks[name] = task

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        # A task that died was logged by _watch: its exception is not the shutdown's.
        await asyncio.gather(*tasks, return_exceptions=True)

    def _watch(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        self.dead[task.get_name()] = describe(exc) if exc is not None else "returned"
        log.error(
            "events.task_died", task=task.get_name(), error=self.dead[task.get_name()], exc_info=exc
        )

    # The LISTEN connection -----------------------------------------------------------------

    @property
    def listening(self) -> asyncio.Event:
        """Set while the hub listens; cleared as soon as its connection is lost."""
        return self._listen.listening

    @property
    def connects(self) -> int:
        return self._listen.connects

    async def _run(self) -> None:
        """Listen until cancelled, reconnecting after any loss of the database."""
        await self._listen.run()

    def _on_connect(self, reconnected: bool) -> None:
        # What changed while the hub was away was not heard: the cached counts may be stale,
        # and subscribers must re-read.
        self._on_change()
        self._on_auth_change()
        if reconnected:
            self.publish(Event("resync", '{"reason":"reconnected"}'))

    def _on_auth_changed(self, payload: str) -> None:
        self._on_auth_change()
        # Each stream checks that its own token or session still holds.
        self.publish(Event("credentials", "{}"))

    def _on_target_changed(self, payload: str) -> None:
        self._on_change()

    def _on_maintenance_written(self, payload: str) -> None:
        # A window, its targets or its occurrences were written (by any API process, apply, or
        # a worker planning ahead): who is in maintenance may have changed.
        self._maintenance("written")

    def _maintenance(self, reason: str) -> None:
        self._on_change()
        self.publish(Event("maintenance", msgspec.json.encode({"reason": reason}).decode()))

    def _on_notify(self, payload: str) -> None:
        event = decode_status_event(payload)
        if isinstance(event, StateChanged):
            self._on_change()
            data = msgspec.json.encode(
                {
                    "target_id": event.target_id,
                    "status": event.status,
                    "previous": event.previous,
                    "since": event.since,
                }
            ).decode()
            self.publish(Event("state", data, event.target_id))
        elif isinstance(event, MaintenanceChanged):
            # A window started or ended: statuses read `maintenance`, or stop to, without a
            # check changing them. Clients read again what they show.
            self._maintenance("boundary")
        elif isinstance(event, ResultsStored):
            if self._subscribers:
                # Ids are bigints: one out of range (a hand-made NOTIFY) would fail the batch.
                self._pending_results.update(i for i in event.target_ids if 0 < i < 2**63)
                self._results_wake.set()
        else:
            log.warning("events.bad_payload", channel=STATUS_CHANNEL, payload=payload[:200])

    async def _fetch_results(self) -> None:
        """Read the latest result of targets with new results; many notifications, one query."""
        while True:
            await self._results_wake.wait()
            self._results_wake.clear()
            ids, self._pending_results = sorted(self._pending_results), set()
            if not ids or not self._subscribers:
                continue
            try:
                pool = await self._db.pool()
                rows = await pool.fetch(Q["latest_results"], ids)
            except DatabaseUnavailable as exc:
                log.warning("events.results_fetch_failed", error=str(exc), targets=len(ids))
                continue
            except Exception as exc:
                # Gone or busy: the next notification tries again. Bad data (an id out of range
                # in a hand-made NOTIFY) costs this batch only. A bug would fail every batch.
                fault = classify(exc)
                if fault is DbFault.BUG:
                    raise
                log.warning(
                    "events.results_fetch_failed",
                    fault=fault.value,
                    error=describe(exc),
                    targets=len(ids),
                )
                continue
            for row in rows:
                self.publish(
                    Event("result", msgspec.json.encode(dict(row)).decode(), row["target_id"])
                )
