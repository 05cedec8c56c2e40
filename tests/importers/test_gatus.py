"""`vigil import gatus`: Gatus configuration (files, merged directories) to a Vigil apply file,
every mapping and every note, and the output accepted by the real apply endpoint."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil_cli.apply import load_expanded
from vigil_cli.importers import gatus, render
from vigil_cli.importers.common import InputError, Result

from ..api.conftest import app, client, db_url, module_client, module_db_url, module_tokens

FIXTURES = Path(__file__).parent / "fixtures" / "gatus"
CONFIG = FIXTURES / "config.yaml"
MERGED = FIXTURES / "merged"
# What `vigil apply` would take from the environment for the fixtures' ${VAR} references.
ENV = {
    "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T0/B0/slack",
    "SLACK_CORE_WEBHOOK_URL": "http://127.0.0.1:9/services/T0/B0/core",
    "TEAMS_WEBHOOK_URL": "http://127.0.0.1:9/teams",
    "TELEGRAM_TOKEN": "123456:telegram-token",
    "NTFY_TOKEN": "tk_ntfy",
    "PAGERDUTY_KEY": "R0123456789",
    "SMTP_PASSWORD": "smtp-password",
    "HOOK_TOKEN": "hook-token",
    "API_KEY": "api-key",
    "EXPECTED_BODY": "ok",
}


@pytest.fixture(scope="module")
def result() -> Result:
    return gatus.convert([str(CONFIG)])


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def notes(result: Result) -> list[str]:
    return [str(n) for n in result.notes]


def subset(item: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The item's values for the expected keys (absent: a marker), to compare whole."""
    return {k: item.get(k, "<absent>") for k in expected}


def assert_maps(converted: Result, expected: dict[str, Any], note: str | None) -> None:
    """The one target has the expected values, and the note (or none at all)."""
    assert subset(converted.targets[0], expected) == expected
    if note is None:
        assert converted.notes == []
    else:
        assert any(note in n for n in notes(converted)), notes(converted)


def endpoint(tmp_path: Path, url: str, conditions: list[str], **extra: Any) -> Result:
    """A one-endpoint Gatus config.yaml, converted."""
    ep = {"name": "probe", "url": url, "conditions": conditions, **extra}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"endpoints": [ep]}, sort_keys=False))
    return gatus.convert([str(path)])


# -- Schemes and settings -------------------------------------------------------------------

SCHEMES = [
    pytest.param(
        "website",
        {
            "kind": "http",
            "url": "https://example.org/health",
            "method": "POST",
            "headers": {"Content-Type": "application/json", "X-Api-Key": "${API_KEY}"},
            "verify_tls": False,
            "follow_redirects": False,
            "interval_s": 5400,
            "timeout_s": 5,
            "labels": {
                "group": "frontend",
                "team": "web",
                "tier_level": "gold",
                "gatus_alert_slack": "true",
                "gatus_alert_pagerduty": "true",
            },
        },
        id="https-method-headers-client-interval-labels",
    ),
    pytest.param(
        "core/api",
        {"kind": "http", "url": "http://api.internal:8080/status", "interval_s": 30},
        id="http-group-name-on-collision",
    ),
    pytest.param(
        "redis",
        {"kind": "tcp", "host": "10.0.0.5", "port": 6379, "interval_s": 10},
        id="tcp",
    ),
    pytest.param("gateway", {"kind": "icmp", "host": "10.0.0.1", "interval_s": 1}, id="icmp"),
    pytest.param(
        "ldaps",
        {"kind": "tls", "host": "ldap.example.com", "port": 636, "starttls": "<absent>"},
        id="tls",
    ),
    pytest.param(
        "smtp",
        {"kind": "tls", "host": "smtp.example.com", "port": 587, "starttls": "smtp"},
        id="starttls-is-smtp",
    ),
    pytest.param(
        "tls-plain",
        {"kind": "tls", "host": "2001:db8::10", "port": 8443, "min_days_valid": 0},
        id="tls-ipv6-no-certificate-condition",
    ),
    pytest.param(
        "example-dns-query",
        {
            "kind": "dns",
            "query_name": "example.com",
            "record_type": "A",
            "server": "8.8.8.8",
            "expected": ["93.184.215.14"],
            "match": "any",
            "expected_rcode": "NOERROR",
        },
        id="dns-server-ip",
    ),
    pytest.param(
        "mx-record",
        {"kind": "dns", "record_type": "MX", "server": "1.1.1.1:53", "expected_rcode": "NXDOMAIN"},
        id="dns-server-ip-port",
    ),
    pytest.param(
        "resolver-by-name",
        {"kind": "dns", "record_type": "AAAA", "server": "<absent>"},
        id="dns-server-name",
    ),
    pytest.param("paused", {"kind": "http", "enabled": False}, id="disabled"),
    pytest.param(
        "nightly-backup",
        {
            "kind": "push",
            "period_s": 86400,
            "grace_s": 0,
            "labels": {"group": "jobs", "gatus_alert_slack": "true"},
        },
        id="external-endpoint-push",
    ),
]


@pytest.mark.parametrize(("name", "expected"), SCHEMES)
def test_endpoint_maps_to_target(result: Result, name: str, expected: dict[str, Any]) -> None:
    target = by_name(result.targets)[name]
    assert subset(target, expected) == expected


def test_unsupported_endpoints_are_not_targets(result: Result) -> None:
    names = set(by_name(result.targets))
    assert names.isdisjoint({"dns-ptr", "udp-echo", "websocket", "grpc", "ssh", "ad-hoc"})
    assert names >= {"website", "core/api", "edge/api", "redis", "paused"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("0", 0),
        ("-1m", -60),
        ("60", None),
        ("1d", None),
        ("5m30", None),
    ],
    ids=lambda v: str(v),
)
def test_go_durations(text: str, seconds: float | None) -> None:
    assert gatus.go_duration(text) == seconds


HTTP, HTTPS = "http://svc.example.org/health", "https://svc.example.org/health"
SETTINGS = [
    pytest.param(
        {"interval": "${INTERVAL}"},
        {"interval_s": 60},
        "interval: ${INTERVAL} is a variable",
        id="interval-variable",
    ),
    pytest.param(
        {"interval": "48h"},
        {"interval_s": 86400},
        "1 s to 1 day; 86400 s",
        id="interval-over-a-day",
    ),
    pytest.param(
        {"interval": "1m", "client": {"timeout": "2m"}},
        {"interval_s": 60, "timeout_s": 30},
        "below the interval; 30 s",
        id="timeout-over-interval",
    ),
    pytest.param(
        {"client": {"timeout": "${TIMEOUT}"}},
        {"timeout_s": "<absent>"},
        "client.timeout: ${TIMEOUT} is a variable",
        id="timeout-variable",
    ),
    pytest.param(
        {"client": {"dns-resolver": "tcp://1.1.1.1:53"}},
        {"kind": "http"},
        "client dns-resolver",
        id="client-other-keys",
    ),
    pytest.param({"method": "delete"}, {"method": "DELETE"}, None, id="method-case"),
    pytest.param(
        {"headers": {"Bad Header": "x", "X-Ok": 1}},
        {"headers": {"X-Ok": "1"}},
        "not a valid header name",
        id="header-name",
    ),
    pytest.param(
        {"body": "{ q }", "graphql": True, "method": "POST"},
        {"method": "POST"},
        "request body (a GraphQL query)",
        id="graphql-body",
    ),
    pytest.param(
        {"alerts": [{"type": "slack", "failure-threshold": 500}]},
        {"failure_threshold": 100, "success_threshold": 2},
        "Vigil's are 1 to 100",
        id="threshold-clamped",
    ),
    pytest.param(
        {"alerts": [{"type": "slack"}]},
        {"labels": "<absent>"},
        "alert slack: no Vigil channel",
        id="alert-without-provider",
    ),
    pytest.param(
        {"extra-labels": {"9lives": "x"}},
        {"labels": {"_9lives": "x"}},
        "label key written '_9lives'",
        id="label-key-sanitised",
    ),
    pytest.param(
        {"store": {"token": "[BODY].token"}},
        {"kind": "http"},
        "store: suites only",
        id="suite-only-key",
    ),
]


@pytest.mark.parametrize(("extra", "expected", "note"), SETTINGS)
def test_endpoint_setting_maps(
    tmp_path: Path, extra: dict[str, Any], expected: dict[str, Any], note: str | None
) -> None:
    converted = endpoint(tmp_path, HTTP, ["[STATUS] == 200"], **extra)
    assert_maps(converted, expected, note)


# -- Conditions -----------------------------------------------------------------------------

ALL = ["1xx", "2xx", "3xx", "4xx", "5xx"]
CONDITIONS = [
    # [STATUS]
    pytest.param(HTTP, ["[STATUS] == 200"], {"expected_status": [200]}, None, id="status-eq"),
    pytest.param(
        HTTP, ["[STATUS] < 300"], {"expected_status": ["1xx", "2xx"]}, None, id="status-lt"
    ),
    pytest.param(
        HTTP, ["[STATUS] == any(200, 201)"], {"expected_status": [200, 201]}, None, id="status-any"
    ),
    pytest.param(
        HTTP,
        ["[STATUS] >= 200", "[STATUS] < 300"],
        {"expected_status": ["2xx"]},
        None,
        id="status-range",
    ),
    pytest.param(
        HTTP,
        ["[STATUS] <= 204"],
        {"expected_status": ["1xx", 200, 201, 202, 203, 204]},
        None,
        id="status-le",
    ),
    pytest.param(
        HTTP, ["[STATUS] == pat(4*)"], {"expected_status": ["4xx"]}, None, id="status-pat"
    ),
    pytest.param(HTTP, ["200 == [STATUS]"], {"expected_status": [200]}, None, id="status-reversed"),
    pytest.param(
        HTTP,
        ["[STATUS] != 404"],
        {"expected_status": ALL},
        "more codes than Vigil lists",
        id="status-ne-too-many",
    ),
    pytest.param(
        HTTP, ["[STATUS] == 0"], {"expected_status": ALL}, "accept no status code", id="status-none"
    ),
    pytest.param(
        HTTP, ["[CONNECTED] == true"], {"expected_status": ALL}, None, id="no-status-any-code"
    ),
    # [BODY] as text
    pytest.param(
        HTTP,
        ["[BODY] == pat(*healthy*)"],
        {"keyword": "healthy", "keyword_regex": "<absent>"},
        None,
        id="body-pat-contains",
    ),
    pytest.param(
        HTTP, ["[BODY] != pat(*error*)"], {"keyword_absent": "error"}, None, id="body-not-pat"
    ),
    pytest.param(
        HTTP,
        ["[BODY] == ok"],
        {"keyword": "ok"},
        "Gatus compares the whole body",
        id="body-equals-approx",
    ),
    pytest.param(
        HTTP,
        ["[BODY] == ${EXPECTED}"],
        {"keyword": "${EXPECTED}"},
        "whole body",
        id="body-env-reference-kept",
    ),
    pytest.param(
        HTTP,
        ["[BODY] == pat(ok*)"],
        {"keyword": r"(?s)\A\s*(?:ok.*)\s*\z", "keyword_regex": True},
        None,
        id="body-pat-prefix-regex",
    ),
    pytest.param(
        HTTP,
        ["[BODY] == any(up, ok)"],
        {"keyword": r"(?s)\A\s*(?:up|ok)\s*\z", "keyword_regex": True},
        None,
        id="body-any-regex",
    ),
    pytest.param(
        HTTP,
        ["[BODY] == pat(ok?)", "[BODY] != pat(*a.b*)"],
        {"keyword": r"(?s)\A\s*(?:ok.)\s*\z", "keyword_absent": r"a\.b", "keyword_regex": True},
        None,
        id="body-literal-escaped-beside-regex",
    ),
    pytest.param(
        HTTP,
        ["[BODY] == pat(*a*)", "[BODY] == pat(*b*)"],
        {"keyword": "a"},
        "one keyword per target",
        id="body-second-keyword",
    ),
    pytest.param(
        HTTP,
        ["len([BODY]) > 10"],
        {"keyword": "<absent>"},
        "keyword in the body, nothing else",
        id="body-len",
    ),
    # [BODY].path as JSON conditions
    pytest.param(
        HTTP,
        ["[BODY].data.status == UP"],
        {"json": [{"path": "data.status", "op": "==", "value": "UP"}]},
        None,
        id="json-eq-string",
    ),
    pytest.param(
        HTTP,
        ["[BODY].count > 5"],
        {"json": [{"path": "count", "op": ">", "value": 5}]},
        None,
        id="json-gt",
    ),
    pytest.param(
        HTTP,
        ["[BODY].ok == true"],
        {"json": [{"path": "ok", "op": "==", "value": True}]},
        None,
        id="json-eq-bool",
    ),
    pytest.param(
        HTTP,
        ["[BODY].ratio != 0.5"],
        {"json": [{"path": "ratio", "op": "!=", "value": 0.5}]},
        None,
        id="json-ne-float",
    ),
    pytest.param(
        HTTP,
        ["len([BODY].items) > 0"],
        {"json": [{"path": "length(items)", "op": ">", "value": 0}]},
        None,
        id="json-len",
    ),
    pytest.param(
        HTTP,
        ["has([BODY].errors) == false"],
        {"json": [{"path": "errors", "op": "not_exists"}]},
        None,
        id="json-has-false",
    ),
    pytest.param(
        HTTP,
        ["has([BODY].id) == true"],
        {"json": [{"path": "id", "op": "exists"}]},
        None,
        id="json-has-true",
    ),
    pytest.param(
        HTTP,
        ["[BODY][0].id == 1"],
        {"json": [{"path": "[0].id", "op": "==", "value": 1}]},
        None,
        id="json-root-index",
    ),
    pytest.param(
        HTTP,
        ["[BODY].data.items[1].name == x"],
        {"json": [{"path": "data.items[1].name", "op": "==", "value": "x"}]},
        None,
        id="json-index",
    ),
    pytest.param(
        HTTP,
        ["[BODY].some-key == x"],
        {"json": [{"path": '"some-key"', "op": "==", "value": "x"}]},
        None,
        id="json-quoted-key",
    ),
    pytest.param(
        HTTP,
        ["[BODY].code == any(1, 2)"],
        {"json": [{"path": "contains(`[1, 2]`, code)", "op": "==", "value": True}]},
        None,
        id="json-any",
    ),
    pytest.param(
        HTTP,
        ["[BODY].region == pat(eu-*)"],
        {"json": [{"path": "region", "op": "matches", "value": r"(?s)\A(?:eu-.*)\z"}]},
        None,
        id="json-pat",
    ),
    pytest.param(
        HTTP,
        ["[BODY].region != pat(eu-*)"],
        {"json": "<absent>"},
        "no JSON condition of Vigil's",
        id="json-not-pat",
    ),
    pytest.param(
        HTTP, ["[BODY].a..b == 1"], {"json": "<absent>"}, "not a JSON path", id="json-bad-path"
    ),
    # [RESPONSE_TIME]
    pytest.param(HTTP, ["[RESPONSE_TIME] < 300"], {"max_latency_ms": 300}, None, id="latency-lt"),
    pytest.param(
        HTTP, ["[RESPONSE_TIME] <= 1s"], {"max_latency_ms": 1000}, None, id="latency-duration"
    ),
    pytest.param(
        HTTP,
        ["[RESPONSE_TIME] < 500", "[RESPONSE_TIME] < 300"],
        {"max_latency_ms": 300},
        None,
        id="latency-tightest",
    ),
    pytest.param(
        HTTP,
        ["[RESPONSE_TIME] > 10"],
        {"max_latency_ms": "<absent>"},
        "only bound the latency from above",
        id="latency-gt",
    ),
    pytest.param(
        HTTP,
        ["[RESPONSE_TIME] < 20000"],
        {"max_latency_ms": "<absent>"},
        "timeout bounds it already",
        id="latency-over-timeout",
    ),
    # [CERTIFICATE_EXPIRATION]
    pytest.param(
        HTTPS, ["[CERTIFICATE_EXPIRATION] > 48h"], {"tls_min_days_valid": 2}, None, id="cert-https"
    ),
    pytest.param(
        HTTPS,
        ["[CERTIFICATE_EXPIRATION] > 172800000"],
        {"tls_min_days_valid": 2},
        None,
        id="cert-ms",
    ),
    pytest.param(
        HTTPS,
        ["[CERTIFICATE_EXPIRATION] > 36h"],
        {"tls_min_days_valid": 2},
        "whole days: 2",
        id="cert-rounded-up",
    ),
    pytest.param(
        HTTP,
        ["[CERTIFICATE_EXPIRATION] > 48h"],
        {"tls_min_days_valid": "<absent>"},
        "https or tls certificate",
        id="cert-plain-http",
    ),
    pytest.param(
        "tls://mail.example.org:465",
        ["[CERTIFICATE_EXPIRATION] > 720h"],
        {"min_days_valid": 30},
        None,
        id="cert-tls",
    ),
    pytest.param(
        "tls://mail.example.org:465",
        ["[CERTIFICATE_EXPIRATION] < 720h"],
        {"min_days_valid": 0},
        "at least N days",
        id="cert-lt",
    ),
    # [CONNECTED], [DNS_RCODE], and what Vigil does not check
    pytest.param(
        "tcp://db.example.org:5432", ["[CONNECTED] == true"], {"kind": "tcp"}, None, id="connected"
    ),
    pytest.param(
        "tcp://db.example.org:5432",
        ["[CONNECTED] == false"],
        {"kind": "tcp"},
        "always require the connection",
        id="connected-false",
    ),
    pytest.param(
        "tcp://db.example.org:5432",
        ["[STATUS] == 200"],
        {"kind": "tcp"},
        "only HTTP targets check a status",
        id="status-on-tcp",
    ),
    pytest.param(
        "tcp://db.example.org:5432",
        ["[BODY].x == 1"],
        {"kind": "tcp"},
        "only HTTP targets check a JSON body",
        id="json-on-tcp",
    ),
    pytest.param(
        HTTP, ["[IP] == 10.0.0.1"], {"kind": "http"}, "address a name resolves to", id="ip"
    ),
    pytest.param(
        HTTPS,
        ["[DOMAIN_EXPIRATION] > 720h"],
        {"kind": "http"},
        "domain's registration",
        id="domain-expiration",
    ),
    pytest.param(
        HTTP,
        ["[SOMETHING] == 1"],
        {"kind": "http"},
        "not a placeholder Vigil can check",
        id="unknown-placeholder",
    ),
]


@pytest.mark.parametrize(("url", "conditions", "expected", "note"), CONDITIONS)
def test_condition_maps(
    tmp_path: Path, url: str, conditions: list[str], expected: dict[str, Any], note: str | None
) -> None:
    converted = endpoint(tmp_path, url, conditions)
    assert_maps(converted, expected, note)


DNS_CONDITIONS = [
    pytest.param("A", ["[DNS_RCODE] == NOERROR"], {"expected_rcode": "NOERROR"}, None, id="rcode"),
    pytest.param(
        "A", ["[DNS_RCODE] == SERVFAIL"], {"expected_rcode": "SERVFAIL"}, None, id="rcode-servfail"
    ),
    pytest.param(
        "A",
        ["[DNS_RCODE] == NOTIMP", "[DNS_RCODE] == NOERROR"],
        {"expected_rcode": "NOERROR"},
        "Vigil expects one of",
        id="rcode-unknown",
    ),
    pytest.param(
        "A",
        ["[CONNECTED] == true"],
        {"expected_rcode": "<absent>"},
        "Gatus accepts any answer code",
        id="no-rcode",
    ),
    pytest.param(
        "A",
        ["[DNS_RCODE] == NOERROR", "[BODY] == any(192.0.2.1, 192.0.2.2)"],
        {"expected": ["192.0.2.1", "192.0.2.2"], "match": "any"},
        "any record",
        id="answer-any",
    ),
    pytest.param(
        "CNAME",
        ["[DNS_RCODE] == NOERROR", "[BODY] == target.example.org."],
        {"expected": ["target.example.org."]},
        "last record",
        id="answer-cname",
    ),
    pytest.param(
        "MX",
        ["[DNS_RCODE] == NOERROR", "[BODY] == mail.example.org."],
        {"expected": "<absent>"},
        "text of a MX record",
        id="answer-mx",
    ),
    pytest.param(
        "A",
        ["[DNS_RCODE] == NOERROR", "[BODY] == pat(192.*)"],
        {"expected": "<absent>"},
        "list of values",
        id="answer-pat",
    ),
]


@pytest.mark.parametrize(("record", "conditions", "expected", "note"), DNS_CONDITIONS)
def test_dns_condition_maps(
    tmp_path: Path, record: str, conditions: list[str], expected: dict[str, Any], note: str | None
) -> None:
    dns = {"query-name": "example.org", "query-type": record}
    converted = endpoint(tmp_path, "9.9.9.9", conditions, dns=dns)
    assert_maps(converted, expected, note)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[STATUS] == 200", ("[STATUS]", "==", "200", None, "")),
        ("[status] <= 300", ("[STATUS]", "<=", "300", None, "")),
        ("300 > [STATUS]", ("[STATUS]", "<", "300", None, "")),
        ("[BODY].a.b == x == y", ("[BODY]", "==", "x", "a.b", "")),
        ("len([BODY].items) >= 2", ("[BODY]", ">=", "2", "items", "len")),
        ("[BODY] == pat(*a > b*)", ("[BODY]", "==", "pat(*a > b*)", None, "")),
    ],
    ids=["eq", "case", "flipped", "split-on-first", "len", "operator-order"],
)
def test_parse_condition(text: str, expected: tuple[Any, ...]) -> None:
    cond = gatus.parse_condition(text)
    assert cond is not None
    assert (cond.subject, cond.op, cond.value, cond.path, cond.fn) == expected


# -- Alerting: providers to channels, endpoint alerts to routes ------------------------------

CHANNELS = [
    pytest.param("gatus-slack", "slack", {"url": "${SLACK_WEBHOOK_URL}"}, id="slack"),
    pytest.param(
        "gatus-slack-core", "slack", {"url": "${SLACK_CORE_WEBHOOK_URL}"}, id="slack-group-override"
    ),
    pytest.param(
        "gatus-discord",
        "discord",
        {"url": "https://discord.com/api/webhooks/1234/literal-token"},
        id="discord",
    ),
    pytest.param(
        "gatus-teams-workflows",
        "teams",
        {"url": "${TEAMS_WEBHOOK_URL}"},
        id="teams-workflows-dollar-var",
    ),
    pytest.param(
        "gatus-telegram",
        "telegram",
        {"bot_token": "${TELEGRAM_TOKEN}", "chat_id": "123456789"},
        id="telegram",
    ),
    pytest.param(
        "gatus-ntfy",
        "ntfy",
        {
            "topic": "gatus-alerts",
            "server_url": "https://ntfy.example.com",
            "token": "${NTFY_TOKEN}",
        },
        id="ntfy",
    ),
    pytest.param(
        "gatus-pagerduty", "pagerduty", {"routing_key": "${PAGERDUTY_KEY}"}, id="pagerduty"
    ),
    pytest.param(
        "gatus-email",
        "email",
        {
            "from_address": "gatus@example.com",
            "to": ["ops@example.com", "oncall@example.com"],
            "host": "smtp.example.com",
            "port": 587,
            "username": "gatus@example.com",
            "password": "${SMTP_PASSWORD}",
            "security": "starttls",
        },
        id="email",
    ),
    pytest.param(
        "gatus-custom",
        "webhook",
        {
            "url": "https://hooks.example.com/gatus",
            "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"},
        },
        id="custom-webhook",
    ),
]


@pytest.mark.parametrize(("name", "kind", "config"), CHANNELS)
def test_provider_maps_to_channel(result: Result, name: str, kind: str, config: dict) -> None:
    channel = by_name(result.channels)[name]
    assert (channel["kind"], channel["config"]) == (kind, config)


def test_unsupported_providers_are_no_channels(result: Result) -> None:
    assert {c["name"] for c in result.channels}.isdisjoint(
        {"gatus-teams", "gatus-matrix", "gatus-gitea"}
    )


ROUTES = [
    pytest.param(
        "gatus-slack",
        {"gatus_alert_slack": "true"},
        ["gatus-slack"],
        True,
        None,
        id="default-alert-send-on-resolved",
    ),
    pytest.param(
        "gatus-slack-2",
        {"gatus_alert_slack": "2"},
        ["gatus-slack-core"],
        True,
        None,
        id="group-override",
    ),
    pytest.param(
        "gatus-pagerduty",
        {"gatus_alert_pagerduty": "true"},
        ["gatus-pagerduty"],
        True,
        3600,
        id="reminder",
    ),
    pytest.param(
        "gatus-discord",
        {"gatus_alert_discord": "true"},
        ["gatus-discord"],
        False,
        None,
        id="send-on-resolved-default-false",
    ),
    pytest.param(
        "gatus-custom", {"gatus_alert_custom": "true"}, ["gatus-custom"], False, None, id="custom"
    ),
]


@pytest.mark.parametrize(("name", "match", "channels", "resolved", "repeat"), ROUTES)
def test_alerts_map_to_routes(
    result: Result, name: str, match: dict, channels: list, resolved: bool, repeat: int | None
) -> None:
    route = by_name(result.routes)[name]
    assert (route["match_labels"], route["channels"], route["send_resolved"]) == (
        match,
        channels,
        resolved,
    )
    assert route.get("repeat_interval_s") == repeat


THRESHOLDS = [
    pytest.param("website", 4, 3, id="from-provider-default-alert"),
    pytest.param("edge/api", 2, 2, id="first-alert-success-default"),
    pytest.param("redis", 2, 3, id="endpoint-over-default-alert"),
    pytest.param("gateway", None, None, id="no-alerts-vigil-default"),
]


@pytest.mark.parametrize(("name", "failure", "success"), THRESHOLDS)
def test_alert_thresholds(result: Result, name: str, failure: int, success: int) -> None:
    target = by_name(result.targets)[name]
    assert (target.get("failure_threshold"), target.get("success_threshold")) == (failure, success)


def test_disabled_alert_routes_nothing(result: Result) -> None:
    # core/api's custom alert has enabled: false; edge/api's custom alert is on.
    assert "gatus_alert_custom" not in by_name(result.targets)["core/api"]["labels"]
    assert by_name(result.targets)["edge/api"]["labels"]["gatus_alert_custom"] == "true"


# -- Notes: every setting that does not map says so ------------------------------------------

NOTES = [
    ("gatus alerting.slack: title: ", "dropped"),
    ("gatus alerting.discord: webhook-url is a secret, written into the output", "info"),
    ("gatus alerting.teams: Office 365 connector webhooks are retired", "skipped"),
    ("gatus alerting.telegram: topic-id: ", "dropped"),
    ("gatus alerting.ntfy: priority: ", "dropped"),
    ("gatus alerting.email: Gatus uses STARTTLS when offered", "approximated"),
    ("gatus alerting.custom: Vigil's webhook POSTs its own JSON event", "approximated"),
    ("gatus alerting.matrix: Vigil has no channel of this kind", "skipped"),
    ("gatus alerting.gitea: Vigil has no channel of this kind", "skipped"),
    (
        'gatus endpoint "frontend/website": request body: Vigil\'s API does not send a request body',
        "dropped",
    ),
    ("gatus endpoint \"frontend/website\": condition '[IP] == 93.184.216.34'", "dropped"),
    ("gatus endpoint \"frontend/website\": condition '[DOMAIN_EXPIRATION] > 720h'", "dropped"),
    ('gatus endpoint "frontend/website": client proxy-url', "dropped"),
    ("gatus endpoint \"frontend/website\": extra-labels 'tier level'", "approximated"),
    ('gatus endpoint "frontend/website": alert slack: description', "dropped"),
    ('gatus endpoint "frontend/website": alert matrix: no Vigil channel', "dropped"),
    ('gatus endpoint "frontend/website": alerts with different thresholds', "approximated"),
    ('gatus endpoint "frontend/website": maintenance-windows', "dropped"),
    ('gatus endpoint "frontend/website": ui: ', "dropped"),
    ("gatus endpoint \"core/api\": condition '[BODY] == ok'", "approximated"),
    ("gatus endpoint \"core/api\": condition '[CERTIFICATE_EXPIRATION] > 1h'", "dropped"),
    ('gatus endpoint "redirects": method TRACE', "dropped"),
    (
        "gatus endpoint \"redirects\": condition '[BODY] == pat(<html>*</html>)': Gatus ignores /",
        "approximated",
    ),
    ("gatus endpoint \"redirects\": condition '[RESPONSE_TIME] > 10'", "dropped"),
    ('gatus endpoint "core/redis": body: ', "dropped"),
    ("gatus endpoint \"core/redis\": condition '[BODY] == pat(*PONG*)'", "dropped"),
    ('gatus endpoint "gateway": interval: Vigil checks every 1 s to 1 day', "approximated"),
    ('gatus endpoint "ldaps": client.insecure', "dropped"),
    ("gatus endpoint \"smtp\": condition '[CERTIFICATE_EXPIRATION] > 36h'", "approximated"),
    (
        "gatus endpoint \"resolver-by-name\": server 'dns.google' is not an IP address",
        "approximated",
    ),
    ('gatus endpoint "dns-ptr": query-type PTR', "skipped"),
    ('gatus endpoint "udp-echo": UDP checks have no Vigil kind', "skipped"),
    ('gatus endpoint "websocket": WebSocket checks', "skipped"),
    ('gatus endpoint "grpc": gRPC health checks', "skipped"),
    ('gatus endpoint "ssh": SSH command checks', "skipped"),
    ('gatus endpoint "jobs/nightly-backup": external endpoint as a push target', "approximated"),
    ('gatus endpoint "ad-hoc": an external endpoint without heartbeat.interval', "skipped"),
    ('gatus suite "checkout-flow": multi-step suites', "skipped"),
    ("gatus: metrics, storage, ui: Gatus's own settings", "dropped"),
    ("gatus endpoint \"edge/api\": condition '[BODY] == ${EXPECTED_BODY}'", "approximated"),
    ('gatus endpoint "edge/api": alerts with different thresholds', "approximated"),
    ('gatus endpoint "anything": [RESPONSE_TIME] < 20000: the 10 s timeout', "dropped"),
    ("gatus endpoint \"gateway\": condition '[STATUS] == 200'", "dropped"),
    ("gatus endpoint \"example-dns-query\": condition '[BODY] == 93.184.215.14'", "approximated"),
    ("gatus endpoint \"mx-record\": condition '[BODY] == mail.example.com.'", "dropped"),
    ('gatus endpoint "resolver-by-name": no [DNS_RCODE] condition', "approximated"),
]


@pytest.mark.parametrize(("start", "severity"), NOTES, ids=[n[0][:60] for n in NOTES])
def test_unmapped_setting_has_its_note(result: Result, start: str, severity: str) -> None:
    found = [n for n in result.notes if str(n).startswith(start)]
    assert [n.severity for n in found] == [severity], notes(result)


def test_every_note_is_in_the_table(result: Result) -> None:
    unexpected = [n for n in notes(result) if not any(n.startswith(s) for s, _ in NOTES)]
    assert unexpected == []
    assert len(result.notes) == len(NOTES)


def test_summary_counts(result: Result) -> None:
    assert result.summary() == "15 imported, 9 approximated, 10 skipped (and 9 channels, 9 routes)"


# -- Reading: merged directories, references, malformed files --------------------------------


def test_directory_is_merged_as_gatus_merges_it() -> None:
    merged = gatus.convert([str(MERGED)])
    # Files in WalkDir order (more/20-db.yml after 30-metrics.yaml); ..2026_01_01 and the
    # README skipped; alerting.slack and alerting.pagerduty from two files in one map.
    assert [t["name"] for t in merged.targets] == ["shop", "blog", "postgres"]
    assert [c["name"] for c in merged.channels] == ["gatus-slack", "gatus-pagerduty"]
    assert by_name(merged.routes)["gatus-slack"]["send_resolved"] is True
    assert notes(merged) == [
        "gatus: metrics: Gatus's own settings (storage, web, UI, security, maintenance windows,"
        " ...) have no place in a Vigil apply file, setting dropped"
    ]
    assert merged.summary() == "3 imported, 0 approximated, 0 skipped (and 2 channels, 2 routes)"


MERGES = [
    pytest.param(
        {
            "a.yaml": "endpoints: [{name: a, url: 'http://a', conditions: ['[STATUS] == 200']}]",
            "b.yml": "endpoints: [{name: b, url: 'http://b', conditions: ['[STATUS] == 200']}]",
        },
        ["a", "b"],
        id="lists-appended",
    ),
    pytest.param(
        {
            "b.yaml": "endpoints: [{name: b, url: 'http://b', conditions: ['[STATUS] == 200']}]",
            "a/z.yaml": "endpoints: [{name: a, url: 'http://a', conditions: ['[STATUS] == 200']}]",
        },
        ["a", "b"],
        id="walk-order-by-name-depth-first",
    ),
    pytest.param(
        {
            "a.yaml": "endpoints: {}",
            "b.yaml": "endpoints: [{name: b, url: 'http://b', conditions: ['[STATUS] == 200']}]",
        },
        ["b"],
        id="list-replaces-other-value",
    ),
    pytest.param(
        {
            "a.yaml": "endpoints: [{name: a, url: 'http://a', conditions: ['[STATUS] == 200']}]",
            "b.txt": "endpoints: [{name: b}]",
            "..data/c.yaml": "not: [yaml",
        },
        ["a"],
        id="only-yaml-and-no-dotdot",
    ),
]


@pytest.mark.parametrize(("files", "names"), MERGES)
def test_merge_rules(tmp_path: Path, files: dict[str, str], names: list[str]) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text + "\n")
    assert [t["name"] for t in gatus.convert([str(tmp_path)]).targets] == names


def test_several_arguments_merge_like_one_directory(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "endpoints:\n  - name: extra\n    url: tcp://127.0.0.1:22\n"
        "    conditions: ['[CONNECTED] == true']\n"
    )
    converted = gatus.convert([str(CONFIG), str(extra)])
    # Endpoints in argument order; external endpoints (push targets) come after them all.
    assert [t["name"] for t in converted.targets][-2:] == ["extra", "nightly-backup"]
    assert len(converted.targets) == 16


@pytest.mark.parametrize(
    ("text", "written", "sent"),
    [
        ("${A}", "${A}", "a"),
        ("$A/x", "${A}/x", "a/x"),
        ("Bearer $TOKEN and ${OTHER}", "Bearer ${TOKEN} and ${OTHER}", "Bearer t and o"),
        ("cost: $$5", "cost: $5", "cost: $5"),
        ("literal $${NOT_A_VAR}", "literal $${NOT_A_VAR}", "literal ${NOT_A_VAR}"),
        ("no reference", "no reference", "no reference"),
    ],
    ids=["braced", "bare", "both", "literal-dollar", "literal-brace", "none"],
)
def test_env_references_kept_for_vigil_apply(
    tmp_path: Path, text: str, written: str, sent: str
) -> None:
    converted = endpoint(tmp_path, HTTP, ["[STATUS] == 200"], headers={"X-Value": text})
    assert converted.targets[0]["headers"] == {"X-Value": written}
    # vigil apply expands them into what Gatus itself would have sent.
    rendered = render(converted, "gatus", ["config.yaml"], "vigil.yaml")
    doc = load_expanded(rendered, "vigil.yaml", {"A": "a", "TOKEN": "t", "OTHER": "o"})
    assert doc["targets"][0]["headers"] == {"X-Value": sent}


MALFORMED = [
    pytest.param(
        "endpoints:\n  - name: a\n    url: [http://x\n", 4, "not valid YAML", id="yaml-syntax"
    ),
    pytest.param("- just\n- a list\n", 1, "expected a map of Gatus settings", id="not-a-map"),
    pytest.param(
        "endpoints:\n  name: a\n", 1, "endpoints: expected a list", id="endpoints-not-list"
    ),
    pytest.param(
        "endpoints:\n  - just-a-string\n", 2, "endpoints[0]: expected a map", id="endpoint-not-map"
    ),
    pytest.param(
        "endpoints:\n  - url: http://x\n    conditions: ['[STATUS] == 200']\n",
        2,
        "needs a name",
        id="no-name",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    conditions: ['[STATUS] == 200']\n",
        2,
        "url is required",
        id="no-url",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    url: http://x\n",
        2,
        "at least one condition",
        id="no-conditions",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    url: http://x\n    conditions:\n      - '[STATUS]==200'\n",
        5,
        "is not `<value> <operator> <value>`",
        id="condition-no-operator",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    url: http://x\n    interval: 60\n    conditions: ['[STATUS] == 200']\n",
        4,
        "expected a Go duration",
        id="interval-not-duration",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    url: http://x\n    conditions: ['[STATUS] == 200']\n    alerts:\n      - failure-threshold: 2\n",
        6,
        "alerts[0] needs a type",
        id="alert-no-type",
    ),
    pytest.param(
        "endpoints:\n  - name: a\n    url: http://x\n    conditions: ['[STATUS] == 200']\n    alerts:\n      - type: slack\n        failure-threshold: many\n",
        7,
        "expected a whole number",
        id="threshold-not-number",
    ),
    pytest.param(
        "alerting:\n  slack: [x]\nendpoints:\n  - name: a\n    url: http://x\n    conditions: ['[STATUS] == 200']\n",
        2,
        "alerting.slack: expected a map",
        id="provider-not-map",
    ),
    pytest.param("metrics: true\n", None, "no endpoints", id="no-endpoints"),
]


@pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
def test_malformed_file_names_file_and_line(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        gatus.convert([str(path)])
    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert message in caught.value.message


def test_setting_defined_in_two_files_names_both(tmp_path: Path) -> None:
    shutil.copytree(MERGED, tmp_path / "conf")
    (tmp_path / "conf" / "40-slack.yaml").write_text(
        "\nalerting:\n  slack:\n    webhook-url: https://hooks.slack.com/services/other\n"
    )
    with pytest.raises(InputError) as caught:
        gatus.convert([str(tmp_path / "conf")])
    error = caught.value
    assert (Path(error.path).name, error.line) == ("40-slack.yaml", 4)
    assert error.message.startswith(
        f"alerting.slack.webhook-url is also set in {tmp_path}/conf/00-alerting.yaml:5"
    )


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read it"):
        gatus.convert([str(tmp_path / "missing.yaml")])
    with pytest.raises(InputError, match="holds no \\*.yaml or \\*.yml file"):
        gatus.convert([str(tmp_path)])


# -- The output: a file that renders, and that the real apply endpoint accepts ---------------


def expanded(converted: Result) -> dict[str, Any]:
    text = render(converted, "gatus", ["config.yaml"], "vigil.yaml")
    assert "&id" not in text and "*id" not in text  # no YAML aliases for a reviewer to chase
    return load_expanded(text, "vigil.yaml", ENV)


@pytest.mark.parametrize("source", [CONFIG, MERGED], ids=["config", "merged-directory"])
async def test_output_is_accepted_by_apply(client, source: Path) -> None:
    converted = gatus.convert([str(source)])
    doc = expanded(converted)
    resp = await client.post("/api/v1/apply", json=doc, params={"dry_run": "true"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert sorted(body["created"]) == sorted(t["name"] for t in converted.targets)
    assert sorted(body["channels"]["created"]) == sorted(c["name"] for c in converted.channels)
    assert sorted(body["routes"]["created"]) == sorted(r["name"] for r in converted.routes)


def table_targets(tmp_path: Path) -> list[dict[str, Any]]:
    """The target of every case of the settings and condition tables, named case-N."""
    results = [endpoint(tmp_path, HTTP, ["[STATUS] == 200"], **c.values[0]) for c in SETTINGS]
    results += [endpoint(tmp_path, c.values[0], c.values[1]) for c in CONDITIONS]
    for case in DNS_CONDITIONS:
        dns = {"query-name": "example.org", "query-type": case.values[0]}
        results.append(endpoint(tmp_path, "9.9.9.9", case.values[1], dns=dns))
    return [{**r.targets[0], "name": f"case-{i}"} for i, r in enumerate(results)]


async def test_every_table_case_is_accepted_by_apply(client, tmp_path: Path) -> None:
    # All in one document: each must pass the API's rules (RE2 patterns, JMESPath, status
    # codes, latency below the timeout, header names, label keys).
    targets = table_targets(tmp_path)
    env = {"EXPECTED": "ok", "INTERVAL": "1m", "TIMEOUT": "5s"}
    doc = load_expanded(yaml.safe_dump({"targets": targets}), "cases.yaml", env)
    resp = await client.post("/api/v1/apply", json=doc, params={"dry_run": "true"})
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["created"]) == len(targets)


def test_rendered_file_round_trips(result: Result) -> None:
    text = render(result, "gatus", [str(CONFIG)], "vigil.yaml")
    assert text.startswith("# Written by `vigil import gatus`")
    assert yaml.safe_load(text) == result.document()
    assert textwrap.dedent(text) == text
