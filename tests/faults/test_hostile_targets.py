"""One `vigil worker` process against the zoo of hostile servers, with healthy targets beside them.

The whole zoo runs at once, for a few intervals, in one worker (as in production, a hostile
target shares the process with everything else); each test below then reads one aspect of
that run from the database: a timely, stored, correctly classed verdict for every due slot
of every hostile target, no failure and no lateness for the healthy ones, bounded memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from vigil_core.db import connect

from ..conftest import database_from_template
from .certs import Certs
from .conftest import Worker

pytestmark = pytest.mark.timeout(180)

INTERVAL_S, TIMEOUT_S = 2.0, 1.0  # hostile targets
HEALTHY_INTERVAL_S, HEALTHY_TIMEOUT_S = 2.0, 1.5
RUN_S = 4 * INTERVAL_S  # a bounded few intervals
STORE_DEADLINE_S = 10.0  # for the last due slots to be flushed
# A check ends within its timeout plus this (scheduling, the loop, the clock).
END_SLACK_S = 1.0
RSS_LIMIT_MB = 300.0
HEALTHY_LAG_S = 1.0


@dataclass(frozen=True)
class Case:
    name: str  # the zoo server (zoo.HOSTILE / HOSTILE_TLS) and the target's name
    address: str  # formatted with port= (that server), http=, https=, tcp= (healthy ones)
    verdicts: frozenset[str]  # the error classes that are a correct verdict
    kind: str = "http"
    settings: dict = field(default_factory=dict)
    message: str | None = None  # a regex the stored message must match
    copies: int = 1


NEEDLE = {"keyword": "needle-that-is-never-sent"}
HOSTILE = [
    Case("slowloris", "http://127.0.0.1:{port}/", frozenset({"timeout"})),
    Case("headers_then_silence", "http://127.0.0.1:{port}/", frozenset({"timeout"})),
    Case(
        "endless_body",
        "http://127.0.0.1:{port}/",
        frozenset({"body_too_large", "keyword"}),
        settings=NEEDLE,
        copies=5,
    ),
    Case(
        "gzip_bomb",
        "http://127.0.0.1:{port}/",
        frozenset({"body_too_large", "keyword"}),
        settings=NEEDLE,
        copies=5,
    ),
    Case("big_headers", "http://127.0.0.1:{port}/", frozenset({"http"})),
    Case("garbage", "http://127.0.0.1:{port}/", frozenset({"http"})),
    Case("reset", "http://127.0.0.1:{port}/", frozenset({"reset", "disconnected"})),
    Case("redirect_loop", "http://127.0.0.1:{port}/", frozenset({"too_many_redirects"})),
    Case("redirect_scheme", "http://127.0.0.1:{port}/", frozenset({"redirect"}), message="ftp://"),
    # a 503 whose reason and other headers are not UTF-8
    Case("bad_bytes_status", "http://127.0.0.1:{port}/", frozenset({"status"}), message="503"),
    # a redirect to a non-HTTP Location whose bytes are not UTF-8 (the message quotes it)
    Case("bad_bytes_location", "http://127.0.0.1:{port}/", frozenset({"redirect"})),
    Case("tls_self_signed", "https://127.0.0.1:{port}/", frozenset({"tls"}), message="self.signed"),
    Case("tls_expired", "https://127.0.0.1:{port}/", frozenset({"tls"}), message="expired"),
    Case(
        "tls_wrong_host",
        "https://127.0.0.1:{port}/",
        frozenset({"tls"}),
        message="mismatch|not valid for",
    ),
    Case("tls_stall", "https://127.0.0.1:{port}/", frozenset({"timeout"})),
    Case("dns_blackhole_http", "http://blackhole.vigil.test:{http}/", frozenset({"dns"})),
    Case("dns_blackhole_tcp", "blackhole.vigil.test:{tcp}", frozenset({"dns"}), kind="tcp"),
]
HEALTHY = [
    Case("healthy_http", "http://127.0.0.1:{http}/", frozenset(), copies=3),
    Case("healthy_https", "https://127.0.0.1:{https}/", frozenset(), copies=3),
    Case("healthy_tcp", "127.0.0.1:{tcp}", frozenset(), kind="tcp", copies=3),
    Case("healthy_http_by_name", "http://ok.vigil.test:{http}/", frozenset()),
    Case("healthy_tcp_by_name", "ok.vigil.test:{tcp}", frozenset(), kind="tcp"),
]


@dataclass
class Row:
    due_at: dt.datetime
    checked_at: dt.datetime
    ok: bool
    error_class: str | None
    error_message: str | None
    latency_ms: float | None

    @property
    def ended_s(self) -> float:
        """Seconds from the due time to the end of the check."""
        return (self.checked_at - self.due_at).total_seconds() + (self.latency_ms or 0) / 1000


@dataclass
class Target:
    name: str
    anchor_at: dt.datetime
    interval_s: float
    timeout_s: float
    status: str
    rows: list[Row] = field(default_factory=list)

    def due_slots(self, at: dt.datetime) -> list[dt.datetime]:
        """The slots whose check must have ended and been stored by `at`."""
        last = at - dt.timedelta(seconds=self.timeout_s + END_SLACK_S)
        step = dt.timedelta(seconds=self.interval_s)
        slots, due = [], self.anchor_at
        while due <= last:
            slots.append(due)
            due += step
        return slots


@dataclass
class Run:
    at: dt.datetime  # the database's clock when the run window ended
    targets: dict[str, list[Target]]  # case name -> its copies
    rss_mb: list[float]
    healthz: list[int]
    dropped: float
    exit_code: int
    task_died: list[dict]


def _targets(
    cases: list[Case],
    hostile: dict[str, int],
    healthy: dict[str, int],
    interval_s: float,
    timeout_s: float,
) -> list[tuple]:
    rows = []
    for case in cases:
        address = case.address.format(port=hostile.get(case.name, 0), **healthy)
        for i in range(case.copies):
            rows.append(
                (
                    f"{case.name} #{i}",
                    case.kind,
                    address,
                    interval_s,
                    timeout_s,
                    json.dumps(case.settings),
                )
            )
    return rows


INSERT = """
INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings)
SELECT n, k, a, i, t, s::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[])
       AS x(n, k, a, i, t, s)
"""
# Targets with a due slot (by $1) that has no stored check.
INCOMPLETE = """
SELECT t.name FROM targets t JOIN schedule s ON s.target_id = t.id
 CROSS JOIN LATERAL generate_series(
           s.anchor_at, $1::timestamptz - make_interval(secs => t.timeout_s + $2::float8),
           make_interval(secs => t.interval_s)) AS due
 WHERE NOT EXISTS (SELECT 1 FROM checks c WHERE c.target_id = t.id AND c.due_at = due)
 GROUP BY t.name ORDER BY t.name
"""
SNAPSHOT = """
SELECT t.name, s.anchor_at, t.interval_s, t.timeout_s, st.status,
       c.due_at, c.checked_at, c.ok, c.error_class, c.error_message, c.latency_ms
  FROM targets t JOIN schedule s ON s.target_id = t.id
  JOIN target_state st ON st.target_id = t.id
  LEFT JOIN checks c ON c.target_id = t.id
 ORDER BY t.name, c.due_at
"""


@pytest.fixture(scope="module")
def zoo_db(pg_server_url: str, template_db: str) -> Iterator[str]:
    with database_from_template(pg_server_url, template_db, "vigil_faults") as url:
        yield url


@pytest.fixture(scope="module")
async def zoo_run(
    zoo_db: str, hostile: dict[str, int], healthy: dict[str, int], certs: Certs
) -> AsyncIterator[Run]:
    rows = _targets(HOSTILE, hostile, healthy, INTERVAL_S, TIMEOUT_S) + _targets(
        HEALTHY, hostile, healthy, HEALTHY_INTERVAL_S, HEALTHY_TIMEOUT_S
    )
    db = await connect(zoo_db)
    try:
        worker = Worker(zoo_db, healthy, certs)
        try:
            await worker.started()
            # One statement: the schedule spreads the first checks over the first interval.
            await db.execute(INSERT, *map(list, zip(*rows, strict=False)))
            at, rss, health = await _watch(db, worker)
            dropped = await worker.metric("vigil_worker_results_dropped_total")
        finally:
            exit_code = worker.stop()
        targets = await _snapshot(db)
    finally:
        await db.close()
    yield Run(at, targets, rss, health, dropped, exit_code, worker.events("worker.task_died"))


async def _watch(db, worker: Worker) -> tuple[dt.datetime, list[float], list[int]]:
    """Sample the worker's RSS and /healthz for RUN_S, then wait (bounded) until every slot
    due by then is stored; returns the database time the window ended and the samples."""
    rss, health = [worker.rss_mb()], []
    end = time.monotonic() + RUN_S
    while time.monotonic() < end:
        health.append((await worker.healthz())[0])
        rss.append(worker.rss_mb())
        await asyncio.sleep(0.25)
    at = await db.fetchval("SELECT now()")
    end = time.monotonic() + STORE_DEADLINE_S
    while await db.fetch(INCOMPLETE, at, END_SLACK_S) and time.monotonic() < end:
        rss.append(worker.rss_mb())
        await asyncio.sleep(0.25)
    return at, rss, health


async def _snapshot(db) -> dict[str, list[Target]]:
    """Every target with its stored checks and state, grouped by case name."""
    targets: dict[str, list[Target]] = {}
    by_name: dict[str, Target] = {}
    for r in await db.fetch(SNAPSHOT):
        t = by_name.get(r["name"])
        if t is None:
            t = by_name[r["name"]] = Target(
                r["name"], r["anchor_at"], r["interval_s"], r["timeout_s"], r["status"]
            )
            targets.setdefault(r["name"].rsplit(" #", 1)[0], []).append(t)
        if r["due_at"] is not None:
            t.rows.append(
                Row(
                    r["due_at"],
                    r["checked_at"],
                    r["ok"],
                    r["error_class"],
                    r["error_message"],
                    r["latency_ms"],
                )
            )
    return targets


def _slot_problems(t: Target, at: dt.datetime) -> list[str]:
    due = t.due_slots(at)
    stored = [r.due_at for r in t.rows]
    problems = []
    missing = sorted(set(due) - set(stored))
    if missing:
        problems.append(f"{len(missing)} of {len(due)} due slots have no stored result")
    if len(stored) != len(set(stored)):
        problems.append(f"{len(stored) - len(set(stored))} slots stored twice")
    return problems


def _summary(t: Target) -> str:
    classes = dict(Counter(r.error_class for r in t.rows))
    slowest = max((r.ended_s for r in t.rows), default=0.0)
    return (
        f"rows={len(t.rows)} classes={classes} slowest_end={slowest:.2f}s "
        f"status={t.status} messages={sorted({r.error_message for r in t.rows}, key=str)[:2]}"
    )


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
async def test_hostile_target_gets_a_timely_stored_verdict(zoo_run: Run, case: Case) -> None:
    copies = zoo_run.targets[case.name]
    problems = []
    for t in copies:
        found = _slot_problems(t, zoo_run.at)
        if not t.rows:
            found.append("no result stored at all")
        if any(r.ok for r in t.rows):
            found.append("a check passed")
        wrong = sorted({str(r.error_class) for r in t.rows} - case.verdicts)
        if wrong:
            found.append(f"error class {wrong}, expected one of {sorted(case.verdicts)}")
        if any(not r.ok and not r.error_message for r in t.rows):
            found.append("a failure without a message")
        if case.message and not all(
            re.search(case.message, r.error_message or "", re.I) for r in t.rows
        ):
            found.append(f"a message does not match {case.message!r}")
        late = [r.ended_s for r in t.rows if r.ended_s > t.timeout_s + END_SLACK_S]
        if late:
            found.append(
                f"{len(late)} checks ended {max(late):.2f}s after their due time "
                f"(limit {t.timeout_s + END_SLACK_S:g}s)"
            )
        if t.status != "down":
            found.append(f"target_state.status is {t.status!r}, not 'down'")
        if found:
            problems.append(f"{t.name}: {'; '.join(found)} [{_summary(t)}]")
    print(f"{case.name}: {_summary(copies[0])}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", HEALTHY, ids=lambda c: c.name)
async def test_healthy_target_beside_the_zoo_never_fails(zoo_run: Run, case: Case) -> None:
    problems = []
    for t in zoo_run.targets[case.name]:
        found = _slot_problems(t, zoo_run.at)
        failed = [(r.error_class, r.error_message) for r in t.rows if not r.ok]
        if failed:
            found.append(f"{len(failed)} of {len(t.rows)} checks failed: {failed[:3]}")
        lag = max(((r.checked_at - r.due_at).total_seconds() for r in t.rows), default=0.0)
        if lag > HEALTHY_LAG_S:
            found.append(f"a check started {lag:.2f}s after its due time")
        if t.status != "up":
            found.append(f"target_state.status is {t.status!r}, not 'up'")
        if found:
            problems.append(f"{t.name}: {'; '.join(found)}")
    assert not problems, "\n".join(problems)


async def test_worker_memory_stays_bounded(zoo_run: Run) -> None:
    peak = max(zoo_run.rss_mb)
    print(f"worker RSS: start {zoo_run.rss_mb[0]:.1f} MB, peak {peak:.1f} MB")
    assert peak < RSS_LIMIT_MB, f"worker RSS peaked at {peak:.1f} MB"


async def test_worker_stays_healthy_and_drops_nothing(zoo_run: Run) -> None:
    assert zoo_run.healthz and set(zoo_run.healthz) == {200}, Counter(zoo_run.healthz)
    assert zoo_run.dropped == 0, f"{zoo_run.dropped:g} results dropped"
    assert zoo_run.task_died == [], zoo_run.task_died
    assert zoo_run.exit_code == 0
