"""alerting: N http targets at 1 s, B of them broken at once and healed; time from the failing check to the receiver, and the count there.

The healthy targets are nginx; the B breakable ones are a loopback server in this process that
answers 503 while broken (accuracy's Flaky). One webhook channel points at a loopback receiver
(tests/alerting's Receiver) that records each request's arrival time and the event ids it
carries (a digest carries several), and one route matches every target. `vigil worker` runs as
real processes (`workers`, default 1), so the path measured is the product's: the check, the
flush transaction that opens the incident and writes the delivery, NOTIFY, the dispatcher's
claim, the POST.

Per event: receiver arrival minus the check that caused it (the incident's started_at for a
firing, ended_at for a resolve), split at the delivery row's created_at (the flush
transaction) into the worker's writing part and the dispatcher's part. The count at the
receiver must be exactly the events in the database: each firing and each resolve once,
nothing else. A phase ends when every event has arrived and no delivery is pending or
sending (nothing can arrive any more), or at deadline_s.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from tests.alerting.receivers import Receiver
from tests.support import free_port
from vigil_core.db import connect, load_queries

from ..harness.db import Q as HQ
from ..harness.db import insert_targets, spread_schedule
from ..harness.lab import Lab
from ..harness.report import Goal, Report
from ..harness.stats import percentile
from .accuracy import Flaky

NAME = "alerting"
Q = load_queries(__package__, "alerting.sql")
SIZES = {
    "tiny": {
        "targets": 20,
        "broken": 5,
        "workers": 1,
        "interval_s": 1,
        "timeout_s": 0.9,
        "failure_threshold": 1,
        "deadline_s": 30.0,
        "quiet_s": 0.0,
        "repeat": 1,
    },
    "short": {
        "targets": 1000,
        "broken": 100,
        "workers": 1,
        "interval_s": 1,
        "timeout_s": 0.9,
        "failure_threshold": 1,
        "deadline_s": 150.0,
        "quiet_s": 61.0,
        "repeat": 1,
    },
    "full": {
        "targets": 1000,
        "broken": 100,
        "workers": 1,
        "interval_s": 1,
        "timeout_s": 0.9,
        "failure_threshold": 1,
        "deadline_s": 150.0,
        "quiet_s": 61.0,
        "repeat": 3,
    },
}
PHASES = ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # wall clock (time.time()), comparable with the database's timestamps
    body: bytes


class TimedReceiver(Receiver):
    """The tests' Receiver (answers 200), noting each request's arrival time before anything else."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[Arrival] = []

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = time.time()
        body = await request.read()  # aiohttp keeps it; the base handler reads the same bytes
        self.arrivals.append(Arrival(at, body))
        return await super()._handle(request)

    def events(self, start: int = 0) -> Iterator[tuple[float, str | None, int | None, bool]]:
        """(arrival, event, event_id, in a digest) of every event in the requests from `start`."""
        for arrival in self.arrivals[start:]:
            body: dict[str, Any] = json.loads(arrival.body)
            if body.get("event") == "digest":
                for item in body.get("items", []):
                    yield arrival.at, item.get("event"), item.get("event_id"), True
            else:
                yield arrival.at, body.get("event"), body.get("event_id"), False


def dispatcher_missing() -> str | None:
    if importlib.util.find_spec("vigil_worker.alerting.dispatcher") is None:
        return "the worker has no alerting dispatcher yet (vigil_worker.alerting.dispatcher)"
    return None


def declare(report: Report, broken: int) -> None:
    for phase in PHASES:
        for q in ("p50", "p99", "max"):
            report.figure(f"{phase}_check_to_receiver_{q}_ms", "ms")
        for part in ("check_to_stored", "stored_to_receiver"):
            for q in ("p50", "p99"):
                report.figure(f"{phase}_{part}_{q}_ms", "ms")
        for name in ("events", "received", "missing", "duplicates", "in_digest"):
            report.figure(f"{phase}_{name}", "")
    for name in ("requests", "digests", "unexpected", "healthy_incidents"):
        report.figure(name, "")
    report.goals = [
        Goal(
            "firing_check_to_receiver_p99_ms",
            "<=",
            1000,
            "failing check -> receiver p99 <= 1 s",
        ),
        Goal("firing_events", ">=", broken, "every broken target opened an incident"),
        Goal("firing_missing", "<=", 0, "every firing reaches the receiver"),
        Goal("resolved_missing", "<=", 0, "every resolve reaches the receiver"),
        Goal("firing_duplicates", "<=", 0, "each firing once"),
        Goal("resolved_duplicates", "<=", 0, "each resolve once"),
        Goal("unexpected", "<=", 0, "nothing else reaches the receiver"),
        # A false incident means the checks themselves failed (a machine too busy for 1,000
        # checks/s): its alerts are real work for the dispatcher and the run measures that.
        Goal("healthy_incidents", "<=", 0, "no incident on the healthy targets (a valid run)"),
    ]


async def wait_until(conn: asyncpg.Connection, query: str, want: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while (n := await conn.fetchval(query)) != want:
        if time.monotonic() > end:
            raise TimeoutError(f"{n}, not {want}, after {deadline_s}s: {query}")
        await asyncio.sleep(0.1)


async def probe(conn: asyncpg.Connection, rx: TimedReceiver, channel: int) -> int | None:
    """Send one test delivery; its event id once it arrived, None if no dispatcher sent it."""
    event_id = await conn.fetchval(Q["test_event"], channel)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if any(eid == event_id for _, _, eid, _ in rx.events()):
            return event_id
        await asyncio.sleep(0.05)
    return None


async def run_phase(
    conn: asyncpg.Connection,
    rx: TimedReceiver,
    *,
    phase: str,
    targets: list[int],
    channel: int,
    after_event: int,
    start: int,
    deadline_s: float,
) -> list[asyncpg.Record]:
    """Wait until the phase's events (one per target) have all arrived and nothing is left to
    send, or deadline_s; returns the events as the database has them."""
    end = time.monotonic() + deadline_s
    while True:
        rows = await conn.fetch(Q["phase_events"], targets, after_event, phase, channel)
        arrived = {eid for _, _, eid, _ in rx.events(start)}
        complete = len(rows) >= len(targets) and all(r["event_id"] in arrived for r in rows)
        if complete and await conn.fetchval(Q["in_flight"], channel) == 0:
            return rows
        if time.monotonic() > end:
            return rows
        await asyncio.sleep(0.05)


def phase_figures(
    phase: str, rows: list[asyncpg.Record], rx: TimedReceiver, start: int
) -> dict[str, float | None]:
    first: dict[int, float] = {}
    seen: dict[int, int] = {}
    digested: set[int] = set()
    for at, _, eid, in_digest in rx.events(start):
        if eid is None:
            continue
        first.setdefault(eid, at)
        seen[eid] = seen.get(eid, 0) + 1
        if in_digest:
            digested.add(eid)
    total, stored, dispatch = [], [], []
    for r in rows:
        checked = r["checked_at"].timestamp()
        if r["stored_at"] is not None:
            stored.append((r["stored_at"].timestamp() - checked) * 1000)
        if r["event_id"] in first:
            total.append((first[r["event_id"]] - checked) * 1000)
            if r["stored_at"] is not None:
                dispatch.append((first[r["event_id"]] - r["stored_at"].timestamp()) * 1000)
    ids = {r["event_id"] for r in rows}
    out: dict[str, float | None] = {
        f"{phase}_events": len(rows),
        f"{phase}_received": len(ids & first.keys()),
        f"{phase}_missing": len(ids - first.keys()),
        f"{phase}_duplicates": sum(seen[e] - 1 for e in ids & seen.keys()),
        f"{phase}_in_digest": len(ids & digested),
    }
    for part, values in (
        ("check_to_receiver", total),
        ("check_to_stored", stored),
        ("stored_to_receiver", dispatch),
    ):
        out[f"{phase}_{part}_p50_ms"] = percentile(values, 0.5)
        out[f"{phase}_{part}_p99_ms"] = percentile(values, 0.99)
    out[f"{phase}_check_to_receiver_max_ms"] = max(total, default=None)
    return out


async def setup(
    conn: asyncpg.Connection, p: dict, nginx_port: int, flaky_port: int, receiver_url: str
) -> tuple[list[int], list[int], int]:
    """The targets (healthy, breakable), spread over one interval, the channel and the route."""
    made = []
    for prefix, port, count in (
        ("healthy", nginx_port, p["targets"] - p["broken"]),
        ("broken", flaky_port, p["broken"]),
    ):
        made.append(
            await insert_targets(
                conn,
                prefix=prefix,
                kind="http",
                address=f"http://127.0.0.1:{port}/",
                count=count,
                interval_s=float(p["interval_s"]),
                timeout_s=float(p["timeout_s"]),
                failure_threshold=p["failure_threshold"],
                success_threshold=1,
            )
        )
    healthy, broken = made
    await spread_schedule(conn, healthy + broken, await conn.fetchval(HQ["now"]), p["interval_s"])
    channel = await conn.fetchval(Q["add_channel"], {"url": receiver_url})
    await conn.execute(Q["add_route"], channel)
    return healthy, broken, channel


async def wait_quiet(conn: asyncpg.Connection, channel: int, quiet_s: float) -> None:
    """Until no alert delivery to the channel was written for quiet_s (storm control's window)."""
    end = time.monotonic() + quiet_s + 5
    while time.monotonic() < end:
        age = await conn.fetchval(Q["last_delivery_age"], channel)
        if age is None or age >= quiet_s:
            return
        await asyncio.sleep(min(1.0, quiet_s - age))


async def flaky_server(flaky: Flaky) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/", flaky.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    declare(report, p["broken"])
    if why := dispatcher_missing():
        report.skipped = why
        return report
    flaky = Flaky(float(p["timeout_s"]))
    runner, flaky_port = await flaky_server(flaky)
    nginx_port = await lab.nginx()
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        rx = TimedReceiver()
        async with rx:
            healthy, broken, channel = await setup(
                conn, p, nginx_port, flaky_port, rx.url("/vigil")
            )
            for i in range(p["workers"]):
                await lab.ready_worker(f"worker-{i}", db_url)
            await wait_until(conn, Q["not_up"], 0, 60)
            probe_id = await probe(conn, rx, channel)
            if probe_id is None:
                report.skipped = "`vigil worker` sent no test delivery within 30 s (no dispatcher?)"
                return report
            for _ in range(p["repeat"]):
                report.add_run(
                    await repetition(report, conn, rx, flaky, p, healthy, broken, channel)
                )
            report.notes.append(
                f"{len(rx.arrivals)} requests at the receiver in all; storm control digests "
                "more than 20 alerts to one channel within 60 s (docs/alerting.md)"
            )
    finally:
        await conn.close()
        await runner.cleanup()
    return report


async def repetition(
    report: Report,
    conn: asyncpg.Connection,
    rx: TimedReceiver,
    flaky: Flaky,
    p: dict,
    healthy: list[int],
    broken: list[int],
    channel: int,
) -> dict[str, float | None]:
    """Break the breakable targets at once, wait for the firings, heal them, wait for the
    resolves; the figures count every request of the repetition (a late duplicate too)."""
    await wait_quiet(conn, channel, float(p["quiet_s"]))
    start = len(rx.arrivals)
    incident_mark = await conn.fetchval(Q["marks"], column=1)
    events: dict[str, list[asyncpg.Record]] = {}
    for phase, mode in zip(PHASES, ("status", "ok"), strict=True):
        event_mark = await conn.fetchval(Q["marks"])
        phase_start = len(rx.arrivals)
        flaky.mode = mode
        events[phase] = await run_phase(
            conn,
            rx,
            phase=phase,
            targets=broken,
            channel=channel,
            after_event=event_mark,
            start=phase_start,
            deadline_s=float(p["deadline_s"]),
        )
    figures: dict[str, float | None] = {}
    for phase, rows in events.items():
        figures |= phase_figures(phase, rows, rx, start)
    expected = {r["event_id"] for rows in events.values() for r in rows}
    figures["requests"] = len(rx.arrivals) - start
    figures["digests"] = sum(
        1 for a in rx.arrivals[start:] if json.loads(a.body).get("event") == "digest"
    )
    figures["unexpected"] = sum(1 for _, _, eid, _ in rx.events(start) if eid not in expected)
    figures["healthy_incidents"] = await conn.fetchval(Q["incidents_since"], healthy, incident_mark)
    return figures
