"""Prometheus config and alert rules pass promtool; the dashboard queries parse and use real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .conftest import (
    DASHBOARD,
    OBSERVABILITY,
    PROMETHEUS_CONFIG,
    RULES_FILE,
    RULES_TEST_FILE,
    run,
    tool,
)

# The metric names of the cross-part contract (COMMON.md).
CONTRACT_METRICS = {
    "vigil_http_requests_total",
    "vigil_http_request_duration_seconds",
    "vigil_db_pool_connections",
    "vigil_target_up",
    "vigil_target_latency_seconds",
    "vigil_target_tls_expiry_timestamp_seconds",
    "vigil_notifications_total",
    "vigil_notification_attempt_duration_seconds",
    "vigil_notifications_pending",
    "vigil_notifications_oldest_pending_age_seconds",
    "vigil_worker_checks_total",
    "vigil_worker_check_errors_total",
    "vigil_worker_check_duration_seconds",
    "vigil_worker_schedule_lag_seconds",
    "vigil_worker_flush_batch_size",
    "vigil_worker_flush_duration_seconds",
    "vigil_worker_result_buffer_depth",
    "vigil_worker_results_dropped_total",
    "vigil_worker_notifications_received_total",
    "vigil_worker_listener_reconnects_total",
}
ALERTS = {
    "VigilTargetDown",
    "VigilWorkerDown",
    "VigilScheduleLagHigh",
    "VigilResultsDropped",
    "VigilCertificateExpiringSoon",
    "VigilNotificationsStuck",
}
# Grafana's range variables, replaced by a fixed window so promtool can parse the queries.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def metric_names(expr: str) -> set[str]:
    """vigil_* names in a PromQL expression, with histogram suffixes folded into the family."""
    return {
        re.sub(r"_(bucket|sum|count)$", "", n) if not n.endswith("_total") else n
        for n in re.findall(r"\bvigil_[a-z_]+\b", expr)
    }


def dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    return [
        (f"{p['title']} / {t['refId']}", t["expr"])
        for p in dash["panels"]
        for t in p.get("targets", [])
    ]


def rule_exprs() -> dict[str, str]:
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return {r["alert"]: r["expr"] for g in groups for r in g["rules"]}


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", str(RULES_FILE)],
        ["test", "rules", str(RULES_TEST_FILE)],
        ["check", "config", str(PROMETHEUS_CONFIG)],
    ],
    ids=["check rules", "test rules", "check config"],
)
def test_promtool(args: list[str]) -> None:
    result = run([tool("promtool"), *args])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_required_alerts_exist_and_have_unit_tests() -> None:
    assert rule_exprs().keys() == ALERTS
    tests = yaml.safe_load(RULES_TEST_FILE.read_text())["tests"]
    tested = {
        case["alertname"]
        for t in tests
        for case in t.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert tested == ALERTS, f"alerts without a firing test: {ALERTS - tested}"


def test_rules_and_dashboard_use_only_contract_metrics() -> None:
    used = {
        name: metric_names(expr) for name, expr in [*rule_exprs().items(), *dashboard_queries()]
    }
    unknown = {
        name: names - CONTRACT_METRICS for name, names in used.items() if names - CONTRACT_METRICS
    }
    assert not unknown, f"metrics not in the COMMON.md contract: {unknown}"


def test_dashboard_covers_uptime_latency_throughput_lag_and_buffer() -> None:
    exprs = " ".join(e for _, e in dashboard_queries())
    for needle in (
        "vigil_target_up",
        "vigil_target_latency_seconds",
        "rate(vigil_worker_checks_total",
        "vigil_worker_schedule_lag_seconds_bucket",
        "vigil_worker_result_buffer_depth",
    ):
        assert needle in exprs, needle


def test_dashboard_uses_the_provisioned_datasource() -> None:
    dash = json.loads(DASHBOARD.read_text())
    source = yaml.safe_load(
        (OBSERVABILITY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = source["datasources"][0]["uid"]
    assert source["datasources"][0]["url"] == "http://prometheus:9090"  # the compose service
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query, loaded as a recording rule."""
    rules = []
    for i, (_, expr) in enumerate(dashboard_queries()):
        for var, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(var, value)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
