"""Manual measurement (not a test): checks/s one worker process sustains against loopback.

    uv run python -m tests.worker.bench_throughput --targets 2000 --kind tcp --seconds 10 \
        [--loop asyncio|uvloop]

Starts its own pgserver cluster, inserts N targets at a 1 s interval (spread over the first
second by migration 0002), runs one in-process worker and reports stored checks per second,
schedule lag percentiles and false failures. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vigil_core import embedded_pg, migrations
from vigil_core.db import connect
from vigil_core.logging import configure_logging
from vigil_worker.main import serve

from .conftest import worker_settings

_ACCEPT_LOOP = """
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4096)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""


async def _bench(url: str, n: int, kind: str, seconds: float) -> None:
    # The TCP peer runs in a process of its own, so its accept loop does not share (and
    # distort) the worker's event loop.
    server = subprocess.Popen(
        [sys.executable, "-c", _ACCEPT_LOOP], stdout=subprocess.PIPE, text=True
    )
    port = int(server.stdout.readline())
    address = {"tcp": f"127.0.0.1:{port}", "icmp": "127.0.0.1"}[kind]
    db = await connect(url)
    await db.execute(
        """INSERT INTO targets (name, kind, address, interval_s, timeout_s)
                        SELECT 'b' || g, $1, $2, 1, 0.9 FROM generate_series(1, $3) g""",
        kind,
        address,
        n,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(worker_settings(url, worker_concurrency=max(1000, n)), stop))
    await asyncio.sleep(2)  # warm-up: first interval and caches
    t0 = await db.fetchval("SELECT now()")
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu0
    t1 = await db.fetchval("SELECT now()")
    stop.set()
    await task
    row = await db.fetchrow(
        """SELECT count(*) AS n, count(*) FILTER (WHERE NOT ok) AS failed,
                  percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (
                      ORDER BY extract(epoch FROM checked_at - due_at)) AS lag
             FROM checks WHERE due_at >= $1 AND due_at < $2""",
        t0,
        t1,
    )
    classes = await db.fetch("SELECT error_class, count(*) FROM checks WHERE NOT ok GROUP BY 1")
    expected = n * (t1 - t0).total_seconds()
    # CPU per check is the figure that survives a noisy shared machine; rates do not.
    print(
        f"{kind}: {n} targets @1s for {seconds:g}s: worker CPU {cpu / max(row['n'], 1) * 1e6:.0f} "
        f"us/check; {row['n'] / seconds:.0f} checks/s stored "
        f"({row['n'] / expected:.1%} of slots), failed {row['failed']}, "
        f"lag p50 {row['lag'][0] * 1000:.1f} ms p99 {row['lag'][1] * 1000:.1f} ms "
        f"{dict(map(tuple, classes)) or ''}"
    )
    await db.close()
    server.kill()
    server.wait()


async def _reaction(url: str, n: int) -> None:
    """Insert one target at a time; time until its first result is stored (ResultsStored)."""
    from vigil_core.notify import STATUS_CHANNEL, ResultsStored, decode_status_event

    accepted: list[float] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(time.perf_counter())
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = await connect(url)
    arrived: dict[int, float] = {}

    def on_status(conn, pid, channel, payload) -> None:
        event = decode_status_event(payload)
        if isinstance(event, ResultsStored):
            for tid in event.target_ids:
                arrived.setdefault(tid, time.perf_counter())

    await db.add_listener(STATUS_CHANNEL, on_status)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(worker_settings(url), stop))
    await asyncio.sleep(1)
    took, seen = [], []
    for i in range(n):
        accepted.clear()
        started = time.perf_counter()
        tid = await db.fetchval(
            "INSERT INTO targets (name, kind, address, interval_s, timeout_s) "
            "VALUES ($1, 'tcp', $2, 60, 1) RETURNING id",
            f"r{i}",
            f"127.0.0.1:{port}",
        )
        end = time.monotonic() + 5
        while tid not in arrived and time.monotonic() < end:
            await asyncio.sleep(0.0005)
        took.append((arrived.get(tid, float("inf")) - started) * 1000)
        seen.append(((accepted[0] if accepted else float("inf")) - started) * 1000)
    stop.set()
    await task
    for label, values in (
        ("insert -> target connected", seen),
        ("insert -> first result stored", took),
    ):
        values.sort()
        print(
            f"reaction ({label}) over {n}: p50 {values[n // 2]:.1f} ms, "
            f"p90 {values[int(n * 0.9)]:.1f} ms, max {values[-1]:.1f} ms"
        )
    await db.close()
    server.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--targets", type=int, default=2000)
    p.add_argument("--kind", choices=["tcp", "icmp"], default="tcp")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    p.add_argument(
        "--reaction",
        type=int,
        default=0,
        metavar="N",
        help="instead: time N single inserts until their first result is stored",
    )
    args = p.parse_args()
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    configure_logging("console", "warning")
    pgdata = Path(tempfile.mkdtemp(prefix="vigil-bench-")) / "pg"
    url = embedded_pg.start(pgdata)
    try:
        migrations.apply(url)
        if args.reaction:
            asyncio.run(_reaction(url, min(args.reaction, 1000)))
        else:
            asyncio.run(_bench(url, min(args.targets, 20000), args.kind, min(args.seconds, 60)))
    finally:
        embedded_pg.stop(pgdata)


if __name__ == "__main__":
    main()
