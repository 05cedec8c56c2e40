"""The per-check series (metrics.CheckSeries) are plain numbers behind a collector; what a
scrape reads must be exactly what prometheus_client's own Counter and Histogram would expose
for the same checks: names, help, labels, and every value on a bucket's bound in that bucket."""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram

from vigil_worker.metrics import _LAG_BUCKETS, _LATENCY_BUCKETS, CheckSeries, WorkerMetrics

# Values below, on and just above bounds, above the last bound, and zero.
VALUES = [0.0, 0.0005, 0.001, 0.0011, 0.0025, 0.3, 1.0, 1.0000001, 30.0, 60.0, 61.0, 1e9]


def reference() -> tuple[CollectorRegistry, Counter, Counter, Histogram, Histogram]:
    r = CollectorRegistry()
    checks = Counter(
        "vigil_worker_checks", "Checks run, by kind and outcome.", ["kind", "outcome"], registry=r
    )
    errors = Counter(
        "vigil_worker_check_errors",
        "Failed checks, by kind and error class.",
        ["kind", "error_class"],
        registry=r,
    )
    duration = Histogram(
        "vigil_worker_check_duration_seconds",
        "Wall time of a check, by kind.",
        ["kind"],
        buckets=_LATENCY_BUCKETS,
        registry=r,
    )
    lag = Histogram(
        "vigil_worker_schedule_lag_seconds",
        "Start time of a check minus its slot's due time.",
        buckets=_LAG_BUCKETS,
        registry=r,
    )
    return r, checks, errors, duration, lag


def test_a_scrape_reads_what_prometheus_client_would_expose() -> None:
    ref, checks, errors, duration, lag = reference()
    ours = CollectorRegistry()
    series = CheckSeries(ours, _LATENCY_BUCKETS, _LAG_BUCKETS)
    assert prometheus_client.generate_latest(ours) == prometheus_client.generate_latest(ref)
    for i, value in enumerate(VALUES):
        kind = ("tcp", "http")[i % 2]
        ok = i % 3 != 0
        error_class = None if ok else ("refused", None)[i % 2]
        checks.labels(kind, "ok" if ok else "fail").inc()
        if not ok:
            errors.labels(kind, error_class or "unknown").inc()
        duration.labels(kind).observe(value)
        lag.observe(value)
        series.checked(kind, ok, error_class, value)
        series.lag.observe(value)
    checks.labels("push", "fail").inc()
    errors.labels("push", "push_down").inc()
    series.counted("push", False, "push_down")
    assert prometheus_client.generate_latest(ours) == prometheus_client.generate_latest(ref)


def test_the_worker_registry_exposes_them_beside_the_other_series() -> None:
    m = WorkerMetrics()
    m.per_check.checked("tcp", False, "refused", 0.002)
    m.schedule_lag.observe(0.02)
    text = m.exposition().decode()
    assert 'vigil_worker_checks_total{kind="tcp",outcome="fail"} 1.0' in text
    assert 'vigil_worker_check_errors_total{error_class="refused",kind="tcp"} 1.0' in text
    assert 'vigil_worker_check_duration_seconds_bucket{kind="tcp",le="0.0025"} 1.0' in text
    assert 'vigil_worker_schedule_lag_seconds_bucket{le="0.025"} 1.0' in text
    assert "vigil_worker_flush_batch_size_bucket" in text
