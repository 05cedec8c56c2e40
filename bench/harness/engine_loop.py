"""`python -m bench.harness.engine_loop CHECKS CONCURRENCY REPEAT`: the worker's own CPU per check
around a check that does nothing, on uvloop as in the worker, printed as one JSON line.

The path is the worker's: SlotTable's timer starts a task, CheckRunner runs run_check (the
kind lookup, the deadline, the latency limit), builds the CheckResult, counts it in the
metrics and hands it to the writer. What is not here: the network (the check awaits once and
succeeds), claiming and flushing (the writer only counts). So the figure is a floor under the
engine overhead the throughput scenarios measure (worker CPU per check minus the bare loop's),
and an A/B pair of it is steady enough to show a change of a few µs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import uvloop

from vigil_core import kinds
from vigil_core.logging import configure_logging
from vigil_core.models import CheckResult
from vigil_worker.checks import REGISTRY, running
from vigil_worker.checks.base import CheckContext, ClaimedTarget, Kind, Outcome
from vigil_worker.dbclock import DbClock
from vigil_worker.main import tune_gc
from vigil_worker.metrics import WorkerMetrics
from vigil_worker.runner import CheckRunner
from vigil_worker.slots import SlotTable


async def _noop(target: ClaimedTarget, ctx: CheckContext) -> Outcome:
    await asyncio.sleep(0)  # one turn of the loop, as a check that waits for its socket
    return Outcome(ok=True, latency_ms=0.1)


class _Counted:
    """The writer's add(), counting only."""

    def __init__(self) -> None:
        self.added = 0

    def add(self, result: CheckResult) -> None:
        self.added += 1


async def _one_run(checks: int, concurrency: int) -> float:
    loop = asyncio.get_running_loop()
    now = datetime.now(UTC)
    clock = DbClock(loop)
    clock.sync(now)
    metrics = WorkerMetrics()
    async with running() as ctx:
        writer = _Counted()
        runner = CheckRunner(ctx, writer, metrics)  # type: ignore[arg-type]
        table = SlotTable(loop, clock, concurrency, runner, metrics.schedule_lag)
        settings = kinds.decode("tcp", {})
        targets = [
            ClaimedTarget(
                id=i,
                name=f"t{i}",
                kind="tcp",
                address="127.0.0.1:9",
                interval_s=60,
                timeout_s=5.0,
                settings=settings,
                anchor_at=now,
                due_at=now,
            )
            for i in range(concurrency)
        ]
        started = time.process_time()
        while writer.added < checks:
            for target in targets:
                table.add(target, False)
            while table.in_flight:
                await asyncio.sleep(0)
        return (time.process_time() - started) / writer.added * 1e6


def main(argv: list[str]) -> None:
    checks, concurrency, repeat = (int(a) for a in argv)
    configure_logging("json", "info")
    tcp = REGISTRY["tcp"]
    REGISTRY["tcp"] = Kind(name="tcp", settings=tcp.settings, check=_noop)
    uvloop.install()
    tune_gc()  # as a worker process does
    runs = [asyncio.run(_one_run(checks, concurrency)) for _ in range(repeat)]
    print(json.dumps({"us_per_check": runs}))


if __name__ == "__main__":
    main(sys.argv[1:])
