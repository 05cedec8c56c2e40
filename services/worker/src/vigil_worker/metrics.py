"""The worker's Prometheus metrics (one registry) and its /metrics and /healthz server."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from vigil_core.logging import get_logger

log = get_logger("vigil_worker.metrics")

# `_created` series double the exposition and promtool does not need them.
prometheus_client.disable_created_metrics()

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


# The series every check touches (the checks and errors counters, the check-duration and
# schedule-lag histograms) are plain numbers exported by a collector at scrape time:
# prometheus_client takes a lock for every increment and for each histogram's bucket and sum.
# Only the event loop's thread touches them, and the /metrics handler runs on that thread too.


class LoopHistogram:
    """Counts per bucket (upper bounds inclusive, as Prometheus's `le`) and their sum; one
    thread only."""

    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self._bounds = tuple(bounds)
        self.counts = [0] * (len(self._bounds) + 1)  # the last: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self._bounds, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts by `le`, +Inf last, as the exposition wants them."""
        out: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip((*self._bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append((floatToGoString(bound), total))
        return out


class CheckSeries:
    """vigil_worker_checks, _check_errors, _check_duration_seconds and _schedule_lag_seconds,
    registered on `registry` as one collector."""

    def __init__(
        self,
        registry: CollectorRegistry,
        latency_buckets: Sequence[float],
        lag_buckets: Sequence[float],
    ) -> None:
        self._latency_buckets = tuple(latency_buckets)
        self.checks: dict[tuple[str, str], int] = {}  # (kind, outcome) -> count
        self.errors: dict[tuple[str, str], int] = {}  # (kind, error_class) -> count
        self.durations: dict[str, LoopHistogram] = {}  # kind -> seconds
        self.lag = LoopHistogram(lag_buckets)
        registry.register(self)

    def checked(self, kind: str, ok: bool, error_class: str | None, seconds: float) -> None:
        """One check done: counted by outcome (and error class), its wall time observed."""
        self.counted(kind, ok, error_class)
        duration = self.durations.get(kind)
        if duration is None:
            duration = self.durations[kind] = LoopHistogram(self._latency_buckets)
        duration.observe(seconds)

    def counted(self, kind: str, ok: bool, error_class: str | None) -> None:
        """A result that took no time of this worker's (a push ping): counted only."""
        key = (kind, "ok" if ok else "fail")
        self.checks[key] = self.checks.get(key, 0) + 1
        if not ok:
            err = (kind, error_class or "unknown")
            self.errors[err] = self.errors.get(err, 0) + 1

    def collect(self) -> Iterator[Metric]:
        checks = CounterMetricFamily(
            "vigil_worker_checks", "Checks run, by kind and outcome.", labels=["kind", "outcome"]
        )
        for labels, n in self.checks.items():
            checks.add_metric(labels, n)
        yield checks
        errors = CounterMetricFamily(
            "vigil_worker_check_errors",
            "Failed checks, by kind and error class.",
            labels=["kind", "error_class"],
        )
        for labels, n in self.errors.items():
            errors.add_metric(labels, n)
        yield errors
        duration = HistogramMetricFamily(
            "vigil_worker_check_duration_seconds", "Wall time of a check, by kind.", labels=["kind"]
        )
        for kind, h in self.durations.items():
            duration.add_metric([kind], h.buckets(), h.sum)
        yield duration
        lag = HistogramMetricFamily(
            "vigil_worker_schedule_lag_seconds", "Start time of a check minus its slot's due time."
        )
        lag.add_metric([], self.lag.buckets(), self.lag.sum)
        yield lag


class WorkerMetrics:
    """All series of one worker; tests get a fresh registry each."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        # The series every check touches, in plain numbers (CheckSeries).
        self.per_check = CheckSeries(r, _LATENCY_BUCKETS, _LAG_BUCKETS)
        self.schedule_lag = self.per_check.lag
        self.flush_batch = Histogram(
            "vigil_worker_flush_batch_size",
            "Results written per flush.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.flush_duration = Histogram(
            "vigil_worker_flush_duration_seconds",
            "Time of one flush transaction.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.buffer_depth = Gauge(
            "vigil_worker_result_buffer_depth", "Results held, waiting to be written.", registry=r
        )
        self.dropped = Counter(
            "vigil_worker_results_dropped",
            "Results dropped because the buffer was full or unwritable.",
            registry=r,
        )
        self.rejected = Counter(
            "vigil_worker_results_rejected",
            "Results the database refused; `replaced`: stored as an "
            "`internal` failure instead, `dropped`: that was refused too.",
            ["outcome"],
            registry=r,
        )
        self.notifications = Counter(
            "vigil_worker_notifications_received",
            "NOTIFY messages received on vigil_targets.",
            registry=r,
        )
        self.listener_reconnects = Counter(
            "vigil_worker_listener_reconnects",
            "Times the LISTEN connection was re-established.",
            registry=r,
        )
        self.in_flight = Gauge(
            "vigil_worker_checks_in_flight",
            "Claimed slots waiting to start or running.",
            registry=r,
        )
        self.claims = Counter(
            "vigil_worker_slots_claimed", "Slots claimed from the schedule.", registry=r
        )
        # Alerting (docs/alerting.md). Named as the spec names them, without `worker_`: they
        # count what this worker's dispatcher did; pending deliveries are the API's (from the
        # database, so that several workers do not duplicate them).
        self.alert_notifications = Counter(
            "vigil_notifications",
            "Alert deliveries by channel kind and outcome: sent, retry (a temporary failure, "
            "tried again later), failed, suppressed (recorded, not sent), collapsed (into a "
            "digest).",
            ["channel_kind", "outcome"],
            registry=r,
        )
        self.alert_attempt_duration = Histogram(
            "vigil_notification_attempt_duration_seconds",
            "Wall time of one attempt to send an alert delivery, by channel kind.",
            ["channel_kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        self.alert_held = Counter(
            "vigil_notifications_held",
            "Alert deliveries suppressed because their target was in a maintenance window "
            "(counted among the suppressed too), by channel kind.",
            ["channel_kind"],
            registry=r,
        )
        self.alert_released = Counter(
            "vigil_notifications_released",
            "Held firings released when their target left maintenance with the incident "
            "still open (sent late), by channel kind.",
            ["channel_kind"],
            registry=r,
        )
        # Maintenance windows (windows.py).
        self.maintenance_planned = Counter(
            "vigil_worker_maintenance_occurrences_planned",
            "Occurrences of recurring maintenance windows this worker planned ahead.",
            registry=r,
        )
        self.maintenance_changes = Counter(
            "vigil_worker_maintenance_changes",
            "Times this worker announced that maintenance started or ended (MaintenanceChanged "
            "on vigil_status).",
            registry=r,
        )

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)


async def start_http(
    metrics: WorkerMetrics, port: int, healthy: Callable[[], tuple[bool, dict]], host: str
) -> web.AppRunner:
    """Serve /metrics and /healthz on `port`; returns the runner to clean up at exit."""

    async def get_metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(),
            headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST},
        )

    async def get_healthz(request: web.Request) -> web.Response:
        ok, detail = healthy()
        return web.json_response(
            {"status": "ok" if ok else "unhealthy", **detail}, status=200 if ok else 503
        )

    app = web.Application()
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/healthz", get_healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics.listening", host=host, port=port)
    return runner
