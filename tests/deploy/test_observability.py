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
    PROMETHEUS_DIR,
    PROMETHEUS_K8S_CONFIG,
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
    "vigil_target_maintenance",
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
    ],
    ids=["check rules", "test rules"],
)
def test_promtool(args: list[str]) -> None:
    result = run([tool("promtool"), *args])
    assert result.returncode == 0, result.stdout + result.stderr


def checkable_config(source: Path, tmp_path: Path) -> Path:
    """A copy of a shipped Prometheus config that promtool can check in full on this machine.

    promtool fails on a credentials file that does not exist, and the token files exist only
    where Prometheus runs: they point at a throwaway one here. Debian's promtool is built
    without Kubernetes discovery, so kubernetes_sd_configs become static targets; everything
    else (relabelling regexes, authorization, rule files) is checked as shipped.
    """
    config = yaml.safe_load(source.read_text())
    token = tmp_path / "token"
    token.write_text("vgl_not-a-real-token")
    config["rule_files"] = [str(PROMETHEUS_DIR / f) for f in config.get("rule_files", [])]
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token)
        if job.pop("kubernetes_sd_configs", None):
            job["static_configs"] = [{"targets": ["10.0.0.1:8000"]}]
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("source", [PROMETHEUS_CONFIG, PROMETHEUS_K8S_CONFIG], ids=lambda p: p.name)
def test_promtool_check_config(source: Path, tmp_path: Path) -> None:
    result = run([tool("promtool"), "check", "config", str(checkable_config(source, tmp_path))])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout, "the alert rules are loaded"


def relabel(rules: list[dict], labels: dict[str, str]) -> dict[str, str] | None:
    """Prometheus's relabelling (replace and keep, the actions the config uses): the target's
    labels afterwards, or None when it is dropped. Regexes are anchored as in Prometheus."""
    labels = dict(labels)
    for rule in rules:
        value = rule.get("separator", ";").join(labels.get(n, "") for n in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep":
            if not match:
                return None
        elif action == "replace":
            if match:
                # Prometheus writes $1, Python \g<1>.
                replacement = re.sub(r"\$(\d+)", r"\\g<\1>", rule.get("replacement", "$1"))
                labels[rule["target_label"]] = match.expand(replacement)
        else:
            raise AssertionError(f"relabel action {action} is not modelled here")
    return {k: v for k, v in labels.items() if not k.startswith("__") or k in KEPT}


KEPT = {"__address__", "__metrics_path__"}


def pod_target(component: str, address: str, *, name: str = "vigil", scrape: str = "true") -> dict:
    """The labels Kubernetes pod discovery gives one declared container port of a pod
    rendered from kustomize/base (annotations and labels as there)."""
    port = {"api": "8000", "worker": "9100", "migrate": ""}[component]
    return {
        "__address__": address,
        "__metrics_path__": "/metrics",
        "__meta_kubernetes_namespace": "vigil",
        "__meta_kubernetes_pod_name": f"vigil-{component}-abc12",
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": name,
        "__meta_kubernetes_pod_label_app_kubernetes_io_component": component,
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": scrape,
        "__meta_kubernetes_pod_annotation_prometheus_io_port": port,
        "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
    }


K8S_CASES = {
    "api pod": (pod_target("api", "10.244.1.7:8000"), {"vigil-api": "10.244.1.7:8000"}),
    "api pod, IPv6": (pod_target("api", "[fd00::7]:8000"), {"vigil-api": "[fd00::7]:8000"}),
    "worker pod": (pod_target("worker", "10.244.1.8:9100"), {"vigil-worker": "10.244.1.8:9100"}),
    "migrate pod": (pod_target("migrate", "10.244.1.9"), {}),
    "another app's api": (pod_target("api", "10.244.2.1:8000", name="other"), {}),
    "not annotated": (pod_target("api", "10.244.1.7:8000", scrape="false"), {}),
}


@pytest.mark.parametrize("case", K8S_CASES, ids=list(K8S_CASES))
def test_kubernetes_jobs_find_each_role_by_its_annotations(case: str) -> None:
    """Each Vigil pod lands in the job of its role (the names the alert rules use), at its pod IP
    and annotated port: the address the API's Host check lists as $(POD_IP)."""
    target, expected = K8S_CASES[case]
    config = yaml.safe_load(PROMETHEUS_K8S_CONFIG.read_text())
    found = {}
    for job in config["scrape_configs"]:
        assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
        labels = relabel(job["relabel_configs"], {**target, "job": job["job_name"]})
        if labels is not None:
            found[job["job_name"]] = labels["__address__"]
            assert labels["__metrics_path__"] == "/metrics"
            assert labels["pod"] == target["__meta_kubernetes_pod_name"]
            assert labels["namespace"] == "vigil"
    assert found == expected
    assert {j["job_name"] for j in config["scrape_configs"]} == {"vigil-api", "vigil-worker"}


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
