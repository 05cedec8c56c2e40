"""The API's Prometheus metrics: requests by route template, the DB pool, per-target series
and the notification queue.

Per-target series (vigil_target_up, vigil_target_latency_seconds,
vigil_target_tls_expiry_timestamp_seconds, vigil_target_maintenance) come from target_state
and the maintenance windows, and the queue's
(vigil_notifications_pending, vigil_notifications_oldest_pending_age_seconds) from deliveries,
so any number of workers never duplicates them. They are rendered at most once per
TARGETS_TTL_S and served from that cache, so a scrape at 10k targets costs two queries every
few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import asyncpg
from litestar import Request, Response, get
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil_core.db import parse_queries
from vigil_core.dberrors import describe, is_retryable
from vigil_core.logging import get_logger

from .errors import DatabaseUnavailable

log = get_logger("vigil_api.metrics")

# The *_created series double the exposition and no dashboard or alert uses them.
disable_created_metrics()

TARGETS_TTL_S = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Q = parse_queries("""
-- name: target_series
-- The stored status (up and down stay what the checks say during maintenance) and whether a
-- window covers the target now (view target_maintenance).
SELECT t.id, t.name, t.kind, t.enabled, vigil_target_status(t.enabled, s.status) AS status,
       s.last_latency_ms, s.tls_expires_at, m.target_id IS NOT NULL AS in_maintenance
  FROM targets t
  JOIN target_state s ON s.target_id = t.id
  LEFT JOIN target_maintenance m ON m.target_id = t.id
 ORDER BY t.id;

-- name: notification_queue
-- Deliveries waiting to leave (pending) or leaving (sending), and the age of the oldest. A
-- first attempt held back by a route's delay_s is not late until it is due, so it counts as
-- waiting but not in the age (else every delay_s of 5 min would look like a stuck queue).
-- OR rather than IN: each arm is answered by its partial index (IN scanned the whole table).
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(created_at)
                        FILTER (WHERE attempts > 0 OR next_attempt_at <= now())), 0)::float8
           AS oldest_age_s
  FROM deliveries
 WHERE (status = 'pending' OR status = 'sending');
""")


class _TargetCollector(Collector):
    def __init__(self) -> None:
        self.rows: list[asyncpg.Record] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["id", "name", "kind"]
        up = GaugeMetricFamily(
            "vigil_target_up",
            "1 when the target is up, 0 when down (absent while pending or paused)",
            labels=labels,
        )
        latency = GaugeMetricFamily(
            "vigil_target_latency_seconds", "Latency of the latest check", labels=labels
        )
        expiry = GaugeMetricFamily(
            "vigil_target_tls_expiry_timestamp_seconds",
            "When the target's TLS certificate expires (Unix time)",
            labels=labels,
        )
        # Only the targets in a window have a series, so that it costs nothing at 100k
        # targets; an alert rule leaves them out with `unless on (id) vigil_target_maintenance`.
        maintenance = GaugeMetricFamily(
            "vigil_target_maintenance",
            "1 while a maintenance window covers the target (absent otherwise)",
            labels=labels,
        )
        for r in self.rows:
            values = [str(r["id"]), r["name"], r["kind"]]
            if r["status"] in ("up", "down"):
                up.add_metric(values, 1.0 if r["status"] == "up" else 0.0)
            if r["enabled"] and r["last_latency_ms"] is not None:
                latency.add_metric(values, r["last_latency_ms"] / 1000.0)
            if r["tls_expires_at"] is not None:
                expiry.add_metric(values, r["tls_expires_at"].timestamp())
            if r["in_maintenance"]:
                maintenance.add_metric(values, 1.0)
        yield from (up, latency, expiry, maintenance)


class _NotificationCollector(Collector):
    def __init__(self) -> None:
        self.row: asyncpg.Record | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.row is None:
            return  # the database did not answer: no series rather than a made-up 0
        yield GaugeMetricFamily(
            "vigil_notifications_pending",
            "Deliveries not yet final: pending (waiting for their next attempt) or sending",
            value=float(self.row["pending"]),
        )
        yield GaugeMetricFamily(
            "vigil_notifications_oldest_pending_age_seconds",
            "Seconds since the oldest pending or sending delivery was created (a first "
            "attempt held back by a route's delay_s counts once due); 0 when none",
            value=max(0.0, self.row["oldest_age_s"]),
        )


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vigil_http_requests",
            "HTTP requests served",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "vigil_http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.pool = Gauge(
            "vigil_db_pool_connections",
            "Database pool connections: in_use, and free "
            "(how many more can be handed out before requests wait)",
            ["state"],
            registry=self.registry,
        )
        self._targets = _TargetCollector()
        self._target_registry = CollectorRegistry()
        self._target_registry.register(self._targets)
        self._notifications = _NotificationCollector()
        self._target_registry.register(self._notifications)
        self._target_text = b""
        self._target_at = float("-inf")

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Count and time every routed request by its route template (never the raw path)."""

        async def metered(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            method = cast(HTTPScope, scope)["method"]
            start = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                route = scope.get("path_template") or "unmatched"
                labels = (route, method, str(status))
                self.requests.labels(*labels).inc()
                self.duration.labels(*labels).observe(time.perf_counter() - start)

        return metered

    async def render(self, pool: asyncpg.Pool | None, max_size: int) -> bytes:
        in_use = (pool.get_size() - pool.get_idle_size()) if pool is not None else 0
        self.pool.labels("in_use").set(in_use)
        self.pool.labels("free").set(max(0, max_size - in_use) if pool is not None else 0)
        if time.monotonic() - self._target_at >= TARGETS_TTL_S:
            await self._refresh_targets(pool)
        return generate_latest(self.registry) + self._target_text

    async def _refresh_targets(self, pool: asyncpg.Pool | None) -> None:
        rows: list[Any] = []
        queue = None
        if pool is not None:
            try:
                rows = await pool.fetch(Q["target_series"], timeout=5)
                queue = await pool.fetchrow(Q["notification_queue"], timeout=5)
            except Exception as exc:
                # No data rather than stale data: the series vanish until the database is back.
                # A bug is raised (logged, 500): a scrape that fails is seen, empty series are not.
                if not is_retryable(exc):
                    raise
                log.warning("metrics.targets_failed", error=describe(exc))
                rows = []
        self._targets.rows = rows
        self._notifications.row = queue
        self._target_text = generate_latest(self._target_registry)
        self._target_at = time.monotonic()


@get(
    "/metrics",
    opt={"access": "metrics"},
    operation_id="getMetrics",
    summary="Prometheus metrics",
    media_type=CONTENT_TYPE,
    tags=["operations"],
)
async def metrics_endpoint(request: Request) -> Response[bytes]:
    """Prometheus text format (version 0.0.4)."""
    state = request.app.state
    pool = state.db.pool_or_none
    if pool is None:
        try:
            pool = await state.db.pool()
        except DatabaseUnavailable:
            pool = None
    body = await state.metrics.render(pool, state.db.max_size)
    return Response(body, media_type=CONTENT_TYPE)
