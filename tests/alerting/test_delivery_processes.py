"""Alerts from real `vigil worker` processes: two workers and 100 flapping targets deliver each
event exactly once per channel, and a worker killed with -9 mid-delivery loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import pytest

from ..faults.conftest import Vigil
from ..support import free_port
from ..worker.conftest import wait_for
from .receivers import HANG, Answer, Receiver
from .test_dispatcher import channel, delivery, open_incident, route, target, until_settled

pytestmark = pytest.mark.timeout(120)


class WorkerProcess(Vigil):
    """`vigil worker` with a metrics port of its own (/healthz says when it is up)."""

    def __init__(self, db_url: str, **env: str) -> None:
        self.port = free_port()
        super().__init__(
            ["worker", "--metrics-port", str(self.port)],
            {
                "VIGIL_DATABASE_URL": db_url,
                "VIGIL_LOG_FORMAT": "json",
                "VIGIL_WORKER_METRICS_HOST": "127.0.0.1",
                "VIGIL_WORKER_LISTENER_PING_S": "1",
                "VIGIL_WORKER_GRACE_S": "5",
                **env,
            },
        )

    async def started(self) -> None:
        await self.until_http_ok(f"http://127.0.0.1:{self.port}/healthz", deadline_s=30)

    async def stopped(self) -> int:
        """stop() off the event loop: the loop serves the receivers meanwhile."""
        return await asyncio.to_thread(self.stop)


async def flip(db: asyncpg.Connection, rx: Receiver, status: int, open_incidents: int) -> None:
    rx.default = Answer(status=status)
    await wait_for(
        lambda: db.fetchval(
            "SELECT count(*) = $1 FROM incidents WHERE ended_at IS NULL", open_incidents
        ),
        timeout=20,
        what=f"{open_incidents} open incidents after the targets answer {status}",
        every=0.1,
    )


async def test_two_workers_with_100_flapping_targets_deliver_each_event_once_per_channel(
    db, db_url: str
) -> None:
    groups = 25  # 4 targets a channel: 16 events each in the run, not a storm (> 20)
    async with Receiver() as targets_rx, Receiver() as rx:
        chans = [await channel(db, f"team {g}", rx.url(f"/team/{g}")) for g in range(groups)]
        for g, cid in enumerate(chans):
            await route(db, f"team {g}", [cid], {"team": str(g)})
        await db.execute(
            """INSERT INTO targets (name, kind, address, interval_s, timeout_s, labels)
               SELECT 'flap ' || i, 'http', $1 || i, 1, 0.5,
                      jsonb_build_object('team', (i % $2)::text)
                 FROM generate_series(0, 99) i""",
            targets_rx.url("/t/"),
            groups,
        )
        workers = [WorkerProcess(db_url), WorkerProcess(db_url)]
        try:
            for w in workers:
                await w.started()
            await wait_for(
                lambda: db.fetchval("SELECT count(*) = 100 FROM target_state WHERE status = 'up'"),
                timeout=20,
                what="every target up",
                every=0.1,
            )
            started = time.monotonic()
            for _ in range(2):
                await flip(db, targets_rx, 500, 100)
                await flip(db, targets_rx, 200, 0)
            await until_settled(db, timeout=30)
            took = time.monotonic() - started
            codes = [await w.stopped() for w in workers]
        finally:
            for w in workers:
                w.stop()
        requests = list(rx.requests)
    assert codes == [0, 0], [w.lines[-20:] for w in workers]
    received: list[tuple[int, int]] = []  # (channel, event id), digests' items included
    order: dict[tuple[int, int], list[str]] = {}  # (channel, incident) -> events in order
    for r in requests:
        cid = chans[int(r.path.rsplit("/", 1)[1])]
        body = r.json()
        for item in body["items"] if body["event"] == "digest" else [body]:
            received.append((cid, item["event_id"]))
            order.setdefault((cid, item["incident"]["id"]), []).append(item["event"])
    expected = await db.fetch(
        "SELECT channel_id, event_id FROM deliveries WHERE event_id IS NOT NULL"
    )
    events = await db.fetchval("SELECT count(*) FROM alert_events")
    assert events == 100 * 2 * 2  # two outages of each target, each firing and resolved
    assert len(expected) == events  # one channel per target
    assert len(received) == len(set(received)), "an event reached a channel twice"
    assert sorted(received) == sorted((r["channel_id"], r["event_id"]) for r in expected)
    assert all(seq == ["firing", "resolved"] for seq in order.values())
    statuses = await db.fetch("SELECT DISTINCT status FROM deliveries")
    assert {r["status"] for r in statuses} <= {"sent", "collapsed"}
    sent = [len(w.events("alerting.sent")) for w in workers]
    print(f"100 flapping targets, two workers: {len(received)} deliveries in {took:.1f}s, {sent}")
    assert all(sent), sent  # both workers delivered a share


async def test_kill_9_while_the_receiver_holds_a_delivery_hands_it_to_the_other_worker(
    db, db_url: str
) -> None:
    env = {"VIGIL_WORKER_ALERT_LEASE_S": "4", "VIGIL_WORKER_ALERT_TIMEOUT_S": "2"}
    async with Receiver() as rx:
        rx.script(HANG)
        cid = await channel(db, "hook", rx.url("/hook"))
        await route(db, "all", [cid])
        tid = await target(db, "api")
        workers = [WorkerProcess(db_url, **env), WorkerProcess(db_url, **env)]
        try:
            for w in workers:
                await w.started()
            iid = await open_incident(db, tid)
            await rx.wait_for(1, timeout=20)  # held by the receiver, unanswered
            held = await delivery(db, iid)
            holder_pid = int(held["leased_by"].split("/")[1])
            victim = next(w for w in workers if w.proc.pid == holder_pid)
            survivor = next(w for w in workers if w is not victim)
            os.kill(holder_pid, signal.SIGKILL)
            await asyncio.to_thread(victim.proc.wait, 10)
            requests = await rx.wait_for(2, timeout=30)
            await until_settled(db)
            row = await delivery(db, iid)
            code = await survivor.stopped()
        finally:
            for w in workers:
                w.stop()
    assert held["status"] == "sending" and held["attempts"] == 1
    assert [r.answered for r in requests] == [None, 200]
    assert requests[0].headers["X-Vigil-Event-Id"] == requests[1].headers["X-Vigil-Event-Id"]
    assert requests[1].headers["X-Vigil-Event-Id"] == str(held["event_id"])
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert row["sent_at"] >= held["lease_until"]  # only once the dead worker's lease expired
    assert [e["delivery_id"] for e in survivor.events("alerting.sent")] == [held["id"]]
    assert code == 0
    assert len(rx.requests) == 2
