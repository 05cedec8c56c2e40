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

Subscribers say what they want (issue 20): event types, target ids for `state` and `result`,
and the summary's kind/label/name filters for `counts`. They are indexed by type and target id,
so an event is offered only to those that want it; each event is encoded once (`Event.wire`)
and the same bytes are queued for all of them; a target's newest result is read only if some
subscriber wants that target's results. `counts` are recounted in rounds, at most one per
COUNTS_INTERVAL_S and only after something that can move them, once per distinct set of
filters, and sent to that set's subscribers only when they changed.

The hub runs three side tasks for the life of the process, the LISTEN loop, the results
fetcher and the counts rounds. They retry what vigil_core.dberrors calls a lost or busy
database (the LISTEN loop also a server that turns it away, the fetcher drops a batch of bad
data, a failed counts round is tried again in the next); a bug would repeat for ever, so the
task dies, is logged with its traceback (`events.task_died`) and stays in `dead`,
which fails /healthz so that the orchestrator restarts the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

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
# `counts` events: recounted at most this often, and only after something that can move them.
COUNTS_INTERVAL_S = 1.0

# What a client can ask for (`type=`); without one it gets the first three, as before.
TYPES = ("state", "result", "maintenance", "counts")
DEFAULT_TYPES = frozenset(("state", "result", "maintenance"))
# Sent to every subscriber whatever it asked for (credentials never leaves the process).
ALWAYS = frozenset(("resync", "credentials"))


class Event:
    """One event, encoded once as its SSE frame (`wire`) and shared by every subscriber."""

    __slots__ = ("data", "event", "target_id", "wire")

    def __init__(self, event: str, data: str, target_id: int | None = None) -> None:
        self.event = event  # state | result | maintenance | counts | resync | credentials
        self.data = data  # JSON
        self.target_id = target_id
        lines = "".join(f"data: {line}\r\n" for line in data.splitlines() or [""])
        self.wire = f"event: {event}\r\n{lines}\r\n".encode()


class CountsFilter(msgspec.Struct, frozen=True):
    """The summary's kind/label/name filters, as a hashable key (labels as sorted pairs)."""

    kind: str | None = None
    labels: tuple[tuple[str, str], ...] | None = None
    q: str | None = None


Counter = Callable[[CountsFilter], Awaitable[dict[str, int]]]


class Subscriber:
    """One SSE client: a bounded queue, the event types it wants, an optional set of target
    ids (for `state` and `result`), and the filters its `counts` are taken under."""

    def __init__(
        self,
        target_ids: frozenset[int] | None,
        maxsize: int,
        types: frozenset[str] = DEFAULT_TYPES,
        counts_filter: CountsFilter | None = None,
    ) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.target_ids = target_ids
        self.types = types
        self.counts_filter = counts_filter if "counts" in types else None
        self.dropped = False

    def wants(self, event: Event) -> bool:
        if event.event in ALWAYS:
            return True
        if event.event not in self.types:
            return False
        return (
            self.target_ids is None or event.target_id is None or event.target_id in self.target_ids
        )


class _CountsGroup:
    """Subscribers whose counts are taken under the same filters, and the last counts sent."""

    __slots__ = ("last", "subscribers")

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.last: Event | None = None


async def count_states(db: Database, f: CountsFilter) -> dict[str, int]:
    """The summary's counts under `f`, counted now (a stream's counts must not lag behind the
    summary's cache)."""
    from ..summary.controller import counts_under  # the summary imports the targets package

    pool = await db.pool()
    counts = await counts_under(pool, f.kind, dict(f.labels) if f.labels else None, f.q)
    return msgspec.structs.asdict(counts)


class EventHub:
    def __init__(
        self,
        db: Database,
        *,
        queue_size: int = QUEUE_SIZE,
        on_change: Callable[[], None] | None = None,
        on_auth_change: Callable[[], None] | None = None,
        count: Counter | None = None,
        counts_interval_s: float = COUNTS_INTERVAL_S,
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
        # Who gets what, so that an event is offered only to subscribers that want it: per
        # type, those without a target filter, and those with one by target id.
        self._wide: dict[str, set[Subscriber]] = {t: set() for t in TYPES}
        self._narrow: dict[str, dict[int, set[Subscriber]]] = {"state": {}, "result": {}}
        self._counts: dict[CountsFilter, _CountsGroup] = {}
        self._count = count or (lambda f: count_states(db, f))
        self._counts_interval_s = counts_interval_s
        self._counts_dirty = False
        self._counts_wake = asyncio.Event()
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
        self.counts_sent = 0  # counts events published (each to its group)
        self._tasks: dict[str, asyncio.Task] = {}
        # Side tasks that ended by themselves: name -> what ended them.
        self.dead: dict[str, str] = {}

    # Subscribers -------------------------------------------------------------------------

    def subscribe(
        self,
        target_ids: frozenset[int] | None = None,
        types: frozenset[str] = DEFAULT_TYPES,
        counts_filter: CountsFilter | None = None,
    ) -> Subscriber:
        sub = Subscriber(target_ids, self._queue_size, types, counts_filter or CountsFilter())
        self._subscribers.add(sub)
        for t in sub.types:
            if t == "counts" or (t in self._narrow and target_ids is not None):
                continue
            self._wide[t].add(sub)
        if target_ids is not None:
            for t, index in self._narrow.items():
                if t in sub.types:
                    for tid in target_ids:
                        index.setdefault(tid, set()).add(sub)
        if sub.counts_filter is not None:
            group = self._counts.get(sub.counts_filter)
            if group is None:
                group = self._counts[sub.counts_filter] = _CountsGroup()
                self._counts_dirty = True  # its first counts, at the next round
                self._counts_wake.set()
            group.subscribers.add(sub)
            if group.last is not None:  # what the others have, at once
                self._deliver(sub, group.last)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub not in self._subscribers:
            return
        self._subscribers.discard(sub)
        for wide in self._wide.values():
            wide.discard(sub)
        if sub.target_ids is not None:
            for index in self._narrow.values():
                for tid in sub.target_ids:
                    subs = index.get(tid)
                    if subs is not None:
                        subs.discard(sub)
                        if not subs:
                            del index[tid]
        if sub.counts_filter is not None:
            group = self._counts.get(sub.counts_filter)
            if group is not None:
                group.subscribers.discard(sub)
                if not group.subscribers:
                    del self._counts[sub.counts_filter]

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _deliver(self, sub: Subscriber, event: Event) -> None:
        try:
            sub.queue.put_nowait(event)
        except asyncio.QueueFull:
            sub.dropped = True
            self.unsubscribe(sub)
            self.dropped_total += 1
            log.warning("events.subscriber_dropped", queued=sub.queue.qsize())

    def publish(self, event: Event) -> None:
        """Offer `event` to the subscribers that want it: all of them for resync and
        credentials, else those of its type, narrowed by target id when it has one."""
        kind = event.event
        if kind in ALWAYS:
            subs: list[Subscriber] = list(self._subscribers)
        elif kind == "counts":
            return  # per filters: _send_counts
        else:
            subs = list(self._wide.get(kind, ()))
            index = self._narrow.get(kind)
            if index is not None:
                if event.target_id is None:  # for everyone who asked for this type
                    subs = [s for s in self._subscribers if kind in s.types]
                else:
                    subs.extend(index.get(event.target_id, ()))
        for sub in subs:
            self._deliver(sub, event)

    def _wants_results(self, target_id: int) -> bool:
        return bool(self._wide["result"]) or target_id in self._narrow["result"]

    def _counts_changed(self) -> None:
        """Something that can move the counts happened: the summary forgets its answers
        (`on_change`), and the streams' counts are taken again at the next round."""
        self._on_change()
        if self._counts:
            self._counts_dirty = True
            self._counts_wake.set()

    async def _send_counts(self) -> None:
        """Each group's counts, published to it when they differ from the last sent."""
        self._counts_dirty = False
        for f, group in list(self._counts.items()):
            try:
                counts = await self._count(f)
            except DatabaseUnavailable as exc:
                log.warning("events.counts_failed", error=str(exc))
                self._counts_dirty = True  # again at the next round
                continue
            except Exception as exc:
                if classify(exc) is DbFault.BUG:
                    raise
                log.warning("events.counts_failed", error=describe(exc))
                self._counts_dirty = True
                continue
            event = Event("counts", msgspec.json.encode(counts).decode())
            if self._counts.get(f) is not group:  # its last subscriber left meanwhile
                continue
            if group.last is not None and group.last.data == event.data:
                continue
            group.last = event
            self.counts_sent += 1
            for sub in list(group.subscribers):
                self._deliver(sub, event)

    async def _run_counts(self) -> None:
        """Counts rounds, at most one per interval, and only after something changed."""
        while True:
            await self._counts_wake.wait()
            self._counts_wake.clear()
            if not self._counts:  # nobody asks: nothing owed (and no loop without a pause)
                self._counts_dirty = False
                continue
            if not self._counts_dirty:
                continue
            await self._send_counts()
            await asyncio.sleep(self._counts_interval_s)
            if self._counts_dirty and self._counts:  # changed meanwhile, or a round failed
                self._counts_wake.set()

    # The side tasks ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the LISTEN loop and the results fetcher as watched tasks."""
        for name, run in (
            ("events-hub", self._run),
            ("events-results", self._fetch_results),
            ("events-counts", self._run_counts),
        ):
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
        self._counts_changed()
        self._on_auth_change()
        if reconnected:
            self.publish(Event("resync", '{"reason":"reconnected"}'))

    def _on_auth_changed(self, payload: str) -> None:
        self._on_auth_change()
        # Each stream checks that its own token or session still holds.
        self.publish(Event("credentials", "{}"))

    def _on_target_changed(self, payload: str) -> None:
        self._counts_changed()

    def _on_maintenance_written(self, payload: str) -> None:
        # A window, its targets or its occurrences were written (by any API process, apply, or
        # a worker planning ahead): who is in maintenance may have changed.
        self._maintenance("written")

    def _maintenance(self, reason: str) -> None:
        self._counts_changed()
        self.publish(Event("maintenance", msgspec.json.encode({"reason": reason}).decode()))

    def _on_notify(self, payload: str) -> None:
        event = decode_status_event(payload)
        if isinstance(event, StateChanged):
            self._counts_changed()
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
            # Only results someone asked for are read. Ids are bigints: one out of range (a
            # hand-made NOTIFY) would fail the batch.
            if self._wide["result"]:
                self._pending_results.update(i for i in event.target_ids if 0 < i < 2**63)
            elif self._narrow["result"]:
                wanted = self._narrow["result"]
                self._pending_results.update(i for i in event.target_ids if i in wanted)
            if self._pending_results:
                self._results_wake.set()
        else:
            log.warning("events.bad_payload", channel=STATUS_CHANNEL, payload=payload[:200])

    async def _fetch_results(self) -> None:
        """Read the latest result of targets with new results; many notifications, one query."""
        while True:
            await self._results_wake.wait()
            self._results_wake.clear()
            ids, self._pending_results = sorted(self._pending_results), set()
            ids = [i for i in ids if self._wants_results(i)]
            if not ids:
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
