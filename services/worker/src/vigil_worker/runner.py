"""Runs a slot's check, hands its result to the result writer and counts it in the metrics."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from vigil_core.logging import get_logger
from vigil_core.models import CheckResult

from .checks import CheckContext, ClaimedTarget, Outcome, run_check
from .flush import OfflineResult
from .metrics import WorkerMetrics
from .results import ResultWriter
from .slots import Slot

log = get_logger("vigil_worker.runner")


class CheckRunner:
    """The slot table's RunSlot: one check per call, its result buffered in the writer."""

    def __init__(self, ctx: CheckContext, writer: ResultWriter, metrics: WorkerMetrics) -> None:
        self._ctx = ctx
        self._writer = writer
        self._per_check = metrics.per_check

    async def __call__(self, slot: Slot, lag: float) -> None:
        target = slot.target
        started = time.perf_counter()
        outcome = await run_check(target, self._ctx)
        elapsed = time.perf_counter() - started
        # checked_at is on the database's clock: the slot's due time plus how late it started.
        checked_at = target.due_at + timedelta(seconds=lag)
        latency_ms = outcome.latency_ms if outcome.latency_ms is not None else elapsed * 1000.0
        cls = OfflineResult if slot.offline else CheckResult
        self._writer.add(
            cls(
                target_id=target.id,
                checked_at=checked_at,
                due_at=target.due_at,
                ok=outcome.ok,
                latency_ms=latency_ms,
                status_code=outcome.status_code,
                error_class=outcome.error_class,
                error_message=outcome.error_message,
                timings=outcome.timings,
                tls_expires_at=outcome.tls_expires_at,
                details=outcome.details,
            )
        )
        self._record(target, outcome, elapsed, latency_ms)

    def _record(
        self, target: ClaimedTarget[Any], outcome: Outcome, elapsed: float, latency_ms: float
    ) -> None:
        self._per_check.checked(target.kind, outcome.ok, outcome.error_class, elapsed)
        log.debug(
            "check.done",
            target_id=target.id,
            kind=target.kind,
            ok=outcome.ok,
            latency_ms=round(latency_ms, 3),
            error_class=outcome.error_class,
        )
