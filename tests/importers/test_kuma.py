"""`vigil import kuma`: every Kuma monitor and notification type of a 1.x backup and of the
2.x-shaped export as Vigil targets, channels and routes; status codes, tags and groups; a note
for each thing that does not map; errors for files that are not backups; and the real apply
endpoint accepting what it writes."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import app, client, db_url, module_client, module_db_url, module_tokens
from vigil_cli.apply import load_expanded
from vigil_cli.importers import kuma, render
from vigil_cli.importers.common import InputError, Result
from vigil_cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "kuma"
V1 = str(FIXTURES / "backup-1.23.json")  # Settings > Backup > Export of Uptime Kuma 1.23
V2 = str(FIXTURES / "backup-2.0.json")  # the same envelope with 2.x monitors (see kuma.py)


@functools.cache
def imported(path: str) -> Result:
    return kuma.convert(path)


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def notes(result: Result) -> list[str]:
    return [str(n) for n in result.notes]


def kuma_monitor(path: str, name: str) -> dict[str, Any]:
    """A monitor of a fixture, as the base of a one-monitor backup."""
    backup = json.loads(Path(path).read_text())
    return copy.deepcopy(next(m for m in backup["monitorList"] if m["name"] == name))


def write_backup(tmp_path: Path, monitors: list[dict[str, Any]], notifications: Any = ()) -> str:
    path = tmp_path / "backup.json"
    doc = {"version": "1.23.16", "notificationList": list(notifications), "monitorList": monitors}
    path.write_text(json.dumps(doc, indent=4))
    return str(path)


def website(tmp_path: Path, **fields: Any) -> Result:
    """A backup of the 1.x fixture's plain http monitor with some fields changed."""
    monitor = {**kuma_monitor(V1, "Website"), "notificationIDList": {}, "tags": [], **fields}
    return kuma.convert(write_backup(tmp_path, [monitor]))


# -- monitors ------------------------------------------------------------------------------

MONITORS = [
    pytest.param(
        V1,
        "Website",
        {
            "name": "Website",
            "kind": "http",
            "url": "https://www.example.com/",
            "expected_status": ["2xx"],
            "tls_min_days_valid": 14,
            "interval_s": 60,
            "timeout_s": 48,
            "failure_threshold": 3,
            "labels": {
                "env": "prod",
                "Team_Name": "true",
                "kuma_notify_1": "true",
                "kuma_notify_6": "true",
            },
        },
        id="1.x http: retries, expiry, tags, notifications",
    ),
    pytest.param(
        V1,
        "Shop keyword",
        {
            "name": "Shop keyword",
            "kind": "http",
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "headers": {"X-Api-Key": "shop-key-1"},
            "expected_status": ["2xx", "3xx"],
            "keyword": "Add to cart",
            "interval_s": 30,
            "timeout_s": 20,
            "labels": {"kuma_notify_2": "true"},
        },
        id="1.x keyword: method, headers JSON string",
    ),
    pytest.param(
        V1,
        "No errors",
        {
            "name": "No errors",
            "kind": "http",
            "url": "http://status.example.com/",
            "expected_status": ["2xx"],
            "verify_tls": False,
            "follow_redirects": False,
            "keyword_absent": "Error",
            "interval_s": 60,
            "timeout_s": 48,
            "labels": {"kuma_notify_3": "true", "kuma_notify_4": "true"},
        },
        id="1.x keyword inverted, ignoreTls, maxredirects 0",
    ),
    pytest.param(
        V1,
        "API health",
        {
            "name": "API health",
            "kind": "http",
            "url": "https://api.example.com/health",
            "expected_status": ["2xx"],
            "json": [{"path": "status", "op": "==", "value": "ok"}],
            "interval_s": 60,
            "timeout_s": 48,
            "labels": {f"kuma_notify_{i}": "true" for i in (5, 7, 8, 9)},
        },
        id="1.x json-query $.status == ok",
    ),
    pytest.param(
        V1,
        "API count",
        {
            "name": "API count",
            "kind": "http",
            "url": "https://api.example.com/stats",
            "expected_status": ["2xx"],
            "json": [{"path": "data.items[0].count", "op": "==", "value": 3}],
            "interval_s": 60,
            "timeout_s": 48,
        },
        id="1.x json-query numeric text as a number",
    ),
    pytest.param(
        V1,
        "Database",
        {
            "name": "Database",
            "kind": "tcp",
            "host": "db.internal",
            "port": 5432,
            "interval_s": 60,
            "labels": {"group": "Infra", "kuma_notify_11": "true"},
        },
        id="1.x port in a group",
    ),
    pytest.param(
        V1,
        "Gateway",
        {
            "name": "Gateway",
            "kind": "icmp",
            "host": "192.0.2.1",
            "interval_s": 60,
            "labels": {"group": "Infra / Network"},
        },
        id="1.x ping in a nested group",
    ),
    pytest.param(
        V1,
        "MX record",
        {
            "name": "MX record",
            "kind": "dns",
            "query_name": "example.com",
            "record_type": "MX",
            "server": "1.1.1.1",
            "interval_s": 60,
        },
        id="1.x dns MX",
    ),
    pytest.param(
        V1,
        "Internal DNS",
        {
            "name": "Internal DNS",
            "kind": "dns",
            "query_name": "intranet.example.com",
            "server": "10.0.0.53:5353",
            "interval_s": 60,
        },
        id="1.x dns server and port",
    ),
    pytest.param(
        V1,
        "Nightly backup",
        {
            "name": "Nightly backup",
            "kind": "push",
            "period_s": 86400,
            "labels": {"kuma_notify_1": "true"},
        },
        id="1.x push: interval is the period",
    ),
    pytest.param(
        V1,
        "Old site",
        {
            "name": "Old site",
            "kind": "http",
            "url": "https://old.example.com/",
            "expected_status": [200, 201, 202, 203, 204, 404],
            "interval_s": 30,
            "timeout_s": 24,
            "failure_threshold": 100,
            "enabled": False,
        },
        id="1.x paused, no timeout (0.8 x interval), retries capped",
    ),
    pytest.param(
        V1,
        "Website (2)",
        {
            "name": "Website (2)",
            "kind": "http",
            "url": "https://www.example.com/admin",
            "headers": {"Authorization": "Basic YWRtaW46czNjcmV0"},
            "expected_status": ["2xx", "3xx", "4xx"],
            "max_redirects": 30,
            "interval_s": 60,
            "timeout_s": 48,
            "failure_threshold": 2,
        },
        id="1.x repeated name, basic auth, wide range, redirects capped",
    ),
    pytest.param(
        V2,
        "Homepage",
        {
            "name": "Homepage",
            "kind": "http",
            "url": "https://example.org/",
            "expected_status": ["2xx", 301, 302],
            "tls_min_days_valid": 14,
            "interval_s": 60,
            "timeout_s": 48,
            "labels": {
                "team": "web",
                "role": "a,b",
                "_9_lives": "true",
                "kuma_notify_1": "true",
                "kuma_notify_2": "true",
            },
        },
        id="2.x http: 1/0 booleans, timeout capped, repeated tag",
    ),
    pytest.param(
        V2,
        "API latency budget",
        {
            "name": "API latency budget",
            "kind": "http",
            "url": "https://api.example.org/metrics",
            "headers": {"Authorization": "Bearer api-bearer-1"},
            "expected_status": ["2xx"],
            "json": [{"path": "queue.depth", "op": "<", "value": 100}],
            "interval_s": 60,
            "timeout_s": 48,
            "labels": {"kuma_notify_3": "true", "kuma_notify_4": "true"},
        },
        id="2.x json-query jsonPathOperator <, bearer auth",
    ),
    pytest.param(
        V2,
        "API version",
        {
            "name": "API version",
            "kind": "http",
            "url": "https://api.example.org/version",
            "expected_status": ["2xx"],
            "json": [{"path": '"build-info".version', "op": "contains", "value": "2."}],
            "interval_s": 60,
            "timeout_s": 48,
            "labels": {f"kuma_notify_{i}": "true" for i in (5, 6, 7)},
        },
        id="2.x json-query contains, quoted name",
    ),
    pytest.param(
        V2,
        "API ready flag",
        {
            "name": "API ready flag",
            "kind": "http",
            "url": "https://api.example.org/ready",
            "expected_status": ["2xx"],
            "json": [{"path": "ready", "op": "!=", "value": False}],
            "interval_s": 60,
            "timeout_s": 48,
        },
        id="2.x json-query != false",
    ),
    pytest.param(
        V2,
        "Resolver pair",
        {
            "name": "Resolver pair",
            "kind": "dns",
            "query_name": "example.org",
            "server": "1.1.1.1",
            "expected": ["93.184.215.14", "93.184.215.15"],
            "interval_s": 60,
        },
        id="2.x dns: resolver list, record conditions",
    ),
    pytest.param(
        V2,
        "CNAME check",
        {
            "name": "CNAME check",
            "kind": "dns",
            "query_name": "www.example.org",
            "record_type": "CNAME",
            "server": "2606:4700:4700::1111",
            "interval_s": 60,
        },
        id="2.x dns: IPv6 resolver, condition dropped",
    ),
    pytest.param(
        V2,
        "Adguard DNS",
        {
            "name": "Adguard DNS",
            "kind": "dns",
            "query_name": "example.org",
            "record_type": "AAAA",
            "interval_s": 60,
        },
        id="2.x dns: resolver by name dropped",
    ),
    pytest.param(
        V2,
        "Heartbeat 5s",
        {"name": "Heartbeat 5s", "kind": "push", "period_s": 10, "failure_threshold": 4},
        id="2.x push: period raised to 10 s",
    ),
    pytest.param(
        V2,
        "SMTP TLS port",
        {
            "name": "SMTP TLS port",
            "kind": "tcp",
            "host": "mail.example.org",
            "port": 465,
            "interval_s": 60,
        },
        id="2.x port with TLS expiry",
    ),
    pytest.param(
        V2,
        "IPv6 ping",
        {
            "name": "IPv6 ping",
            "kind": "icmp",
            "host": "2001:db8::1",
            "interval_s": 60,
            "enabled": False,
        },
        id="2.x ping: bracketed IPv6, active 0",
    ),
    pytest.param(
        V2,
        "Literal dollar",
        {
            "name": "Literal dollar",
            "kind": "http",
            "url": "https://example.org/price",
            "headers": {"X-Token": "$${NOT_A_VAR}"},
            "expected_status": ["2xx"],
            "keyword": "$${PRICE}",
            "interval_s": 60,
            "timeout_s": 48,
        },
        id="2.x a literal ${ stays literal",
    ),
]


@pytest.mark.parametrize(("path", "name", "expected"), MONITORS)
def test_a_monitor_becomes_this_target(path: str, name: str, expected: dict[str, Any]) -> None:
    assert by_name(imported(path).targets)[name] == expected


@pytest.mark.parametrize(
    ("path", "names"),
    [
        pytest.param(
            V1,
            [
                "Website",
                "Shop keyword",
                "No errors",
                "API health",
                "API count",
                "Database",
                "Gateway",
                "MX record",
                "Internal DNS",
                "Nightly backup",
                "Old site",
                "Website (2)",
            ],
            id="1.x",
        ),
        pytest.param(
            V2,
            [
                "Homepage",
                "API latency budget",
                "API version",
                "API ready flag",
                "Resolver pair",
                "CNAME check",
                "Adguard DNS",
                "Heartbeat 5s",
                "SMTP TLS port",
                "IPv6 ping",
                "Literal dollar",
            ],
            id="2.x",
        ),
    ],
)
def test_only_the_monitors_that_map_are_targets(path: str, names: list[str]) -> None:
    assert [t["name"] for t in imported(path).targets] == names


# -- accepted status codes -----------------------------------------------------------------

STATUS = [
    pytest.param(["200-299"], ["2xx"], None, id="200-299 is 2xx"),
    pytest.param(["300-399"], ["3xx"], None, id="300-399 is 3xx"),
    pytest.param(["200-299", "300-399"], ["2xx", "3xx"], None, id="two classes"),
    pytest.param(["100-599"], ["1xx", "2xx", "3xx", "4xx", "5xx"], None, id="every class"),
    pytest.param(["200-399"], ["2xx", "3xx"], None, id="a range of whole classes"),
    pytest.param(["200"], [200], None, id="a single code is an int"),
    pytest.param('["200-299", "418"]', ["2xx", 418], None, id="the raw JSON column"),
    pytest.param(["404", "404", "200-299"], ["2xx", 404], None, id="repeats merged"),
    pytest.param(["200-299", "204"], ["2xx"], None, id="a code inside a class"),
    pytest.param(["201-204"], [201, 202, 203, 204], None, id="a partial range is expanded"),
    pytest.param(["200-348"], ["2xx", *range(300, 349)], None, id="50 rules fit"),
    pytest.param(["301-350"], list(range(301, 351)), None, id="50 codes fit"),
    pytest.param(
        ["200-350"],
        ["2xx", "3xx"],
        "accepted status codes 200-350 make more than 50 rules (Vigil's limit): it accepts their whole classes, approximated",
        id="51 rules widen to classes",
    ),
    pytest.param(
        ["abc", "200"],
        [200],
        "accepted status code 'abc': not a code or a range of 100-599, setting dropped",
        id="not a code",
    ),
    pytest.param(
        ["600-699"],
        ["2xx"],
        "no accepted status code Vigil can use; it expects 2xx, approximated",
        id="out of range",
    ),
    pytest.param(
        [],
        ["2xx"],
        "no accepted status code Vigil can use; it expects 2xx, approximated",
        id="none",
    ),
]


@pytest.mark.parametrize(("codes", "expected", "note"), STATUS)
def test_accepted_status_codes(
    tmp_path: Path, codes: list[str], expected: list, note: str | None
) -> None:
    result = website(tmp_path, accepted_statuscodes=codes)
    assert result.targets[0]["expected_status"] == expected
    lines = [n.split(": ", 1)[1] for n in notes(result) if "status code" in n]
    assert lines[-1:] == ([note] if note else [])


# -- tags, groups, notifications as labels and routes --------------------------------------

TAGS = [
    pytest.param([("env", "prod")], {"env": "prod"}, [], id="name: value"),
    pytest.param([("critical", "")], {"critical": "true"}, [], id="empty value is true"),
    pytest.param([("critical", None)], {"critical": "true"}, [], id="null value is true"),
    pytest.param(
        [("Team Name", "web")],
        {"Team_Name": "web"},
        ["tag 'Team Name' becomes the label key 'Team_Name', approximated"],
        id="key sanitised",
    ),
    pytest.param(
        [("2fa", "on")],
        {"_2fa": "on"},
        ["tag '2fa' becomes the label key '_2fa', approximated"],
        id="key starting with a digit",
    ),
    pytest.param(
        [("k" * 70, "x")],
        {"k" * 63: "x"},
        [f"tag '{'k' * 70}' becomes the label key '{'k' * 63}', approximated"],
        id="key cut to 63",
    ),
    pytest.param(
        [("role", "a"), ("role", "b")],
        {"role": "a,b"},
        ["tag 'role' has several values; the label holds them joined: 'a,b', approximated"],
        id="one tag, two values",
    ),
    pytest.param(
        [("note", "v" * 250)],
        {"note": "v" * 200},
        ["tag 'note': its value is cut to 200 characters, approximated"],
        id="value cut to 200",
    ),
]


@pytest.mark.parametrize(("tags", "labels", "expected_notes"), TAGS)
def test_tags_become_labels(tmp_path: Path, tags: list, labels: dict, expected_notes: list) -> None:
    kuma_tags = [
        {"id": i, "monitor_id": 1, "tag_id": i, "name": n, "value": v, "color": "#059669"}
        for i, (n, v) in enumerate(tags)
    ]
    result = website(tmp_path, tags=kuma_tags, expiryNotification=False)
    assert result.targets[0]["labels"] == labels
    assert [n.split(": ", 1)[1] for n in notes(result)] == expected_notes


def channels_of(result: Result, target: str) -> set[str]:
    """The channels a target's alerts reach: the routes whose labels it carries."""
    labels = by_name(result.targets)[target].get("labels", {})
    return {
        channel
        for route in result.routes
        if route["match_labels"].items() <= labels.items()
        for channel in route["channels"]
    }


@pytest.mark.parametrize(
    ("path", "target", "channels"),
    [
        pytest.param(V1, "Website", {"Ops Slack", "PagerDuty"}, id="1.x two notifications"),
        pytest.param(
            V1, "No errors", {"Teams channel", "Telegram on-call"}, id="1.x teams, telegram"
        ),
        pytest.param(
            V1, "API health", {"ntfy phone", "Mail ops", "Custom hook", "Apprise"}, id="1.x four"
        ),
        pytest.param(V1, "Database", {"Ops Slack (2)"}, id="1.x skipped gotify is not routed"),
        pytest.param(V1, "API count", set(), id="1.x none: the default one is not added"),
        pytest.param(V2, "Homepage", {"Slack", "Telegram EU"}, id="2.x"),
        pytest.param(
            V2, "API version", {"Hook PUT", "Teams workflow", "Mail relay"}, id="2.x three"
        ),
    ],
)
def test_a_monitors_notifications_are_the_channels_its_alerts_reach(
    path: str, target: str, channels: set[str]
) -> None:
    assert channels_of(imported(path), target) == channels


def test_each_channel_has_one_route_matching_its_label() -> None:
    routes = imported(V1).routes
    assert routes[0] == {
        "name": "kuma: Ops Slack",
        "match_labels": {"kuma_notify_1": "true"},
        "channels": ["Ops Slack"],
    }
    assert [r["channels"] for r in routes] == [[c["name"]] for c in imported(V1).channels]


# -- notifications -------------------------------------------------------------------------

CHANNELS = [
    pytest.param(
        V1,
        {
            "name": "Ops Slack",
            "kind": "slack",
            "config": {"url": "https://hooks.slack.com/services/T000/B000/XXXX"},
        },
        id="slack",
    ),
    pytest.param(
        V1,
        {
            "name": "Discord alerts",
            "kind": "discord",
            "config": {"url": "https://discord.com/api/webhooks/1234/abcd"},
        },
        id="discord",
    ),
    pytest.param(
        V1,
        {
            "name": "Teams channel",
            "kind": "teams",
            "config": {
                "url": "https://example.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
            },
        },
        id="teams",
    ),
    pytest.param(
        V1,
        {
            "name": "Telegram on-call",
            "kind": "telegram",
            "config": {"bot_token": "123456789:AAE-telegram-token", "chat_id": "-1001234567890"},
        },
        id="telegram",
    ),
    pytest.param(
        V1,
        {
            "name": "ntfy phone",
            "kind": "ntfy",
            "config": {
                "topic": "kuma-alerts",
                "server_url": "https://ntfy.example.com",
                "token": "tk_ntfytoken123",
            },
        },
        id="ntfy with a token and its own server",
    ),
    pytest.param(
        V1,
        {
            "name": "PagerDuty",
            "kind": "pagerduty",
            "config": {"routing_key": "R0123456789abcdef0123456789abcdef"},
        },
        id="PagerDuty",
    ),
    pytest.param(
        V1,
        {
            "name": "Mail ops",
            "kind": "email",
            "config": {
                "host": "smtp.example.com",
                "from_address": "kuma@example.com",
                "to": ["ops@example.com", "lead@example.com", "boss@example.com"],
                "port": 465,
                "security": "tls",
                "username": "kuma",
                "password": "mail-password-1",
            },
        },
        id="smtp secure",
    ),
    pytest.param(
        V1,
        {
            "name": "Custom hook",
            "kind": "webhook",
            "config": {
                "url": "https://hooks.example.com/kuma",
                "headers": {"Authorization": "Bearer hook-token-1"},
            },
        },
        id="webhook with headers",
    ),
    pytest.param(
        V1,
        {
            "name": "Apprise",
            "kind": "apprise",
            "config": {"urls": ["mailto://user:pass@gmail.com"]},
        },
        id="apprise",
    ),
    pytest.param(
        V1,
        {
            "name": "Ops Slack (2)",
            "kind": "slack",
            "config": {"url": "https://hooks.slack.com/services/T000/B000/YYYY"},
            "enabled": False,
        },
        id="repeated name, inactive",
    ),
    pytest.param(
        V2,
        {
            "name": "Telegram EU",
            "kind": "telegram",
            "config": {
                "bot_token": "987654321:BBF-telegram-token",
                "chat_id": "42",
                "api_url": "https://tg-proxy.example.com",
            },
        },
        id="2.x telegram server URL",
    ),
    pytest.param(
        V2,
        {"name": "ntfy basic", "kind": "ntfy", "config": {"topic": "ops"}},
        id="2.x ntfy password",
    ),
    pytest.param(
        V2,
        {
            "name": "PagerDuty EU",
            "kind": "pagerduty",
            "config": {
                "routing_key": "R0eu0000000000000000000000000000",
                "api_url": "https://events.eu.pagerduty.com",
            },
        },
        id="2.x PagerDuty EU endpoint",
    ),
    pytest.param(
        V2,
        {"name": "Hook PUT", "kind": "webhook", "config": {"url": "https://hooks.example.com/v2"}},
        id="2.x webhook",
    ),
    pytest.param(
        V2,
        {
            "name": "Mail relay",
            "kind": "email",
            "config": {
                "host": "localhost",
                "from_address": "kuma@example.com",
                "to": ["ops@example.com"],
                "port": 25,
                "security": "none",
            },
        },
        id="2.x smtp without STARTTLS, port as text",
    ),
    pytest.param(
        V2,
        {
            "name": "Teams workflow",
            "kind": "teams",
            "config": {
                "url": "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=xyz"
            },
            "enabled": False,
        },
        id="2.x teams workflow, active 0",
    ),
]


@pytest.mark.parametrize(("path", "expected"), CHANNELS)
def test_a_notification_becomes_this_channel(path: str, expected: dict[str, Any]) -> None:
    assert by_name(imported(path).channels)[expected["name"]] == expected


def test_smtp_starttls_is_the_default_and_tls_errors_can_be_ignored(tmp_path: Path) -> None:
    config = {
        "name": "mail",
        "type": "smtp",
        "smtpHost": "smtp.example.com",
        "smtpPort": 587,
        "smtpSecure": False,
        "smtpIgnoreTLSError": True,
        "smtpFrom": "kuma@example.com",
        "smtpTo": "ops@example.com",
    }
    notification = {
        "id": 1,
        "name": "mail",
        "active": True,
        "isDefault": False,
        "config": json.dumps(config),
    }
    result = kuma.convert(write_backup(tmp_path, [], [notification]))
    assert result.channels[0]["config"] == {
        "host": "smtp.example.com",
        "from_address": "kuma@example.com",
        "to": ["ops@example.com"],
        "verify_tls": False,
    }


# -- notes: nothing is dropped silently ----------------------------------------------------

NOTES = [
    # monitors skipped
    (V1, 'kuma monitor "mqtt monitor" (type mqtt): no equivalent kind, skipped'),
    *(
        (V1, f'kuma monitor "{t} monitor" (type {t}): no equivalent kind, skipped')
        for t in (
            "docker",
            "steam",
            "gamedig",
            "sqlserver",
            "postgres",
            "mysql",
            "mongodb",
            "radius",
            "redis",
            "grpc-keyword",
            "real-browser",
            "kafka-producer",
            "tailscale-ping",
        )
    ),
    *(
        (V2, f'kuma monitor "{t} monitor" (type {t}): no equivalent kind, skipped')
        for t in ("snmp", "smtp", "websocket-upgrade", "globalping", "manual", "rabbitmq")
    ),
    (
        V1,
        'kuma monitor "Infra" (type group): a group is not a check; its monitors carry the label group: "Infra", skipped',
    ),
    (
        V1,
        'kuma monitor "Network" (type group): a group is not a check; its monitors carry the label group: "Infra / Network", skipped',
    ),
    (
        V1,
        'kuma monitor "Infra" (type group): its own notifications (sent when the group as a whole went down), setting dropped',
    ),
    (
        V1,
        'kuma monitor "Inverted" (type http): upside-down mode (up when the check fails) has no equivalent; imported as is it would alert the opposite way, skipped',
    ),
    (V1, 'kuma monitor "PTR lookup" (type dns): record type PTR has no equivalent, skipped'),
    (
        V1,
        'kuma monitor "JSONata filter" (type json-query): JSON query "$count(items[state=\'up\'])" is a JSONata expression with no JMESPath equivalent; write the json condition by hand, skipped',
    ),
    (
        V2,
        "kuma monitor \"Bad URL\" (type http): url 'ftp://files.example.org/' is not an http(s) URL, skipped",
    ),
    # monitors approximated
    (
        V1,
        'kuma monitor "Nightly backup" (type push): Vigil makes its own push URL (the Kuma push token cannot be kept): point the sender at the new URL on the target\'s page, approximated',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): certificate expiry notification: Kuma warns at 21, 14 and 7 days left; Vigil fails the check (error class expiring) below 14 days, approximated',
    ),
    (
        V1,
        "kuma monitor \"API count\" (type json-query): Kuma compares data.items[0].count as text with '3'; Vigil compares JSON values, so it expects the number 3, approximated",
    ),
    (
        V1,
        'kuma monitor "Old site" (type http): maxretries 150: Vigil\'s failure_threshold is at most 100, approximated',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): accepted status codes 200-450 make more than 50 rules (Vigil\'s limit): it accepts their whole classes, approximated',
    ),
    (
        V2,
        'kuma monitor "Homepage" (type http): certificate expiry notification: Kuma warns at 21, 14 and 7 days left; Vigil fails the check (error class expiring) below 14 days, approximated',
    ),
    (
        V2,
        'kuma monitor "Heartbeat 5s" (type push): Vigil makes its own push URL (the Kuma push token cannot be kept): point the sender at the new URL on the target\'s page, approximated',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): maxredirects 50: Vigil follows at most 30, approximated',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): the name is used by another monitor: imported as "Website (2)", approximated',
    ),
    (
        V1,
        "kuma monitor \"Gateway\" (type ping): the tag 'group' is replaced by the import's own label group: 'Infra / Network', approximated",
    ),
    (
        V2,
        'kuma monitor "Homepage" (type http): timeout 100 s is not below the interval; Vigil\'s must be: 48 s, approximated',
    ),
    (
        V2,
        'kuma monitor "Heartbeat 5s" (type push): interval 5 s: a push period is 10 s to 1 day, so 10 s, approximated',
    ),
    (
        V2,
        'kuma monitor "Resolver pair" (type dns): resolvers 1.1.1.1, 8.8.8.8: Vigil asks one, 1.1.1.1, approximated',
    ),
    (
        V2,
        'kuma monitor "API latency budget" (type json-query): Kuma converts $.queue.depth to a number; Vigil needs a JSON number there, approximated',
    ),
    (
        V2,
        "kuma monitor \"API ready flag\" (type json-query): Kuma compares ready as text with 'false'; Vigil compares JSON values, so it expects the boolean false, approximated",
    ),
    # monitor settings dropped
    (
        V1,
        'kuma monitor "Shop keyword" (type keyword): the request body: Vigil\'s API does not take one yet, setting dropped',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): retryInterval 20 s: Vigil retries at the check interval (60 s), so it reports down after a different time, setting dropped',
    ),
    (
        V1,
        'kuma monitor "Old site" (type http): retryInterval 60 s: Vigil retries at the check interval (30 s), so it reports down after a different time, setting dropped',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): resendInterval (resend while down): set repeat_interval_s on the route, setting dropped',
    ),
    (
        V1,
        'kuma monitor "Website" (type http): notification id 99: not in the backup\'s notificationList, setting dropped',
    ),
    (
        V2,
        'kuma monitor "CNAME check" (type dns): its conditions (only `record equals` joined by `or` map to expected values); the check needs only an answer, setting dropped',
    ),
    (
        V2,
        'kuma monitor "Adguard DNS" (type dns): resolver adguard is a name; Vigil takes an address, so the worker\'s resolvers answer, setting dropped',
    ),
    (
        V2,
        'kuma monitor "SMTP TLS port" (type port): the certificate check on the port: add a Vigil tls target for it, setting dropped',
    ),
    (
        V2,
        'kuma monitor "IPv6 ping" (type ping): packetSize 1400: Vigil sends its own echo size, setting dropped',
    ),
    # secrets
    (
        V1,
        'kuma monitor "Website" (type http): its credentials are written into the output as an Authorization header: move them to ${VAR} before committing',
    ),
    (
        V2,
        'kuma monitor "API latency budget" (type json-query): its credentials are written into the output as an Authorization header: move them to ${VAR} before committing',
    ),
    (
        V1,
        'kuma notification "Ops Slack" (type slack): its secret (config.url) is written into the output as in the backup: move it to ${VAR} before committing',
    ),
    (
        V1,
        'kuma notification "Mail ops" (type smtp): its secret (config.password) is written into the output as in the backup: move it to ${VAR} before committing',
    ),
    (
        V1,
        'kuma notification "Custom hook" (type webhook): its secret (config.headers) is written into the output as in the backup: move it to ${VAR} before committing',
    ),
    # notifications
    (V1, 'kuma notification "Gotify" (type gotify): Vigil has no channel kind for it, skipped'),
    (V2, 'kuma notification "Matrix" (type matrix): Vigil has no channel kind for it, skipped'),
    (
        V2,
        'kuma notification "Slack" (type slack): Kuma pre-selects a default notification for new monitors only; the imported monitors keep the notifications they had. Give new targets the label kuma_notify_1: "true" to route them here, setting dropped',
    ),
    (V1, 'kuma notification "Telegram broken" (type telegram): it has no telegramChatID, skipped'),
    (
        V1,
        'kuma notification "Ops Slack" (type slack): the name is used by another notification: imported as "Ops Slack (2)", approximated',
    ),
    (
        V1,
        'kuma notification "Ops Slack" (type slack): Kuma pre-selects a default notification for new monitors only; the imported monitors keep the notifications they had. Give new targets the label kuma_notify_1: "true" to route them here, setting dropped',
    ),
    (
        V1,
        'kuma notification "Ops Slack" (type slack): slackchannel, slackusername: no equivalent in Vigil\'s channel, setting dropped',
    ),
    (
        V1,
        'kuma notification "Telegram on-call" (type telegram): telegramSendSilently: no equivalent in Vigil\'s channel, setting dropped',
    ),
    (
        V1,
        'kuma notification "PagerDuty" (type PagerDuty): pagerdutyPriority: no equivalent in Vigil\'s channel, setting dropped',
    ),
    (
        V1,
        'kuma notification "Teams channel" (type teams): an Office 365 connector URL: Vigil\'s teams channel posts an Adaptive Card to a Workflows webhook (Microsoft retired connectors); replace the URL, approximated',
    ),
    (
        V1,
        'kuma notification "Mail ops" (type smtp): smtpFrom \'"Uptime Kuma" <kuma@example.com>\': Vigil sends from the address alone, kuma@example.com, approximated',
    ),
    (
        V1,
        'kuma notification "Mail ops" (type smtp): smtpCC/smtpBCC: Vigil has only `to`; the copies are added to it (BCC becomes visible), approximated',
    ),
    (
        V1,
        'kuma notification "Custom hook" (type webhook): Vigil posts its own JSON event (docs/alerting.md), not Kuma\'s {heartbeat, monitor, msg} JSON; adapt the receiver, approximated',
    ),
    (
        V2,
        'kuma notification "Hook PUT" (type webhook): Vigil posts its own JSON event (docs/alerting.md), not Kuma\'s custom body; adapt the receiver, approximated',
    ),
    (
        V2,
        'kuma notification "Hook PUT" (type webhook): webhookAdditionalHeaders is not a JSON object, setting dropped',
    ),
    (
        V2,
        'kuma notification "Hook PUT" (type webhook): httpMethod PUT: Vigil\'s webhook always POSTs, setting dropped',
    ),
    (
        V2,
        'kuma notification "ntfy basic" (type ntfy): ntfyusername/ntfypassword: Vigil\'s ntfy channel authenticates with an access token (`ntfy token add`); set config.token, setting dropped',
    ),
    (
        V2,
        'kuma notification "Telegram EU" (type telegram): telegramUseTemplate: no equivalent in Vigil\'s channel, setting dropped',
    ),
    (
        V2,
        'kuma notification "Mail relay" (type smtp): customSubject: no equivalent in Vigil\'s channel, setting dropped',
    ),
]


@pytest.mark.parametrize(
    ("path", "line"),
    [pytest.param(p, n, id=n.split(": ", 2)[0] + ": " + n.split(": ")[1][:40]) for p, n in NOTES],
)
def test_what_does_not_map_is_noted(path: str, line: str) -> None:
    assert line in notes(imported(path))


@pytest.mark.parametrize("path", [V1, V2], ids=["1.x", "2.x"])
def test_every_note_is_one_of_the_listed_ones(path: str) -> None:
    """The table above is the whole story: a new note shows up here until it is listed."""
    listed = {n for p, n in NOTES if p == path}
    unlisted = [
        n
        for n in notes(imported(path))
        if n not in listed and "its secret" not in n and "tag '" not in n
    ]
    assert unlisted == []


def test_a_secret_is_noted_once_per_channel() -> None:
    secret_notes = [n for n in notes(imported(V1)) if "its secret" in n]
    assert len(secret_notes) == len(imported(V1).channels) == 10


@pytest.mark.parametrize(
    ("path", "summary"),
    [
        pytest.param(
            V1, "12 imported, 6 approximated, 21 skipped (and 10 channels, 10 routes)", id="1.x"
        ),
        pytest.param(
            V2, "11 imported, 5 approximated, 8 skipped (and 7 channels, 7 routes)", id="2.x"
        ),
    ],
)
def test_the_summary_line_counts(path: str, summary: str) -> None:
    assert imported(path).summary() == summary


# -- JSON queries --------------------------------------------------------------------------

QUERIES = [
    pytest.param(
        "$.status", "ok", "==", {"path": "status", "op": "==", "value": "ok"}, id="$.name"
    ),
    pytest.param(
        "status", "ok", None, {"path": "status", "op": "==", "value": "ok"}, id="1.x: no operator"
    ),
    pytest.param("$", "ok", "==", {"path": "@", "op": "==", "value": "ok"}, id="the whole body"),
    pytest.param(
        "items[-1].id", "7", "==", {"path": "items[-1].id", "op": "==", "value": 7}, id="index"
    ),
    pytest.param(
        "$[0].ok", "true", "==", {"path": "[0].ok", "op": "==", "value": True}, id="top-level array"
    ),
    pytest.param("a.b", "1.5", ">=", {"path": "a.b", "op": ">=", "value": 1.5}, id=">= a number"),
    pytest.param(
        "a.b", "up", "contains", {"path": "a.b", "op": "contains", "value": "up"}, id="contains"
    ),
    pytest.param("a.b", "abc", ">", None, id="> a word"),
    pytest.param("$sum(items.n)", "3", "==", None, id="a JSONata function"),
    pytest.param("items[ok=true]", "3", "==", None, id="a JSONata predicate"),
    pytest.param("a.*", "3", "==", None, id="a wildcard"),
    pytest.param("a.b", "x", "~=", None, id="an unknown operator"),
]


@pytest.mark.parametrize(("query", "expected_value", "op", "condition"), QUERIES)
def test_json_queries(
    tmp_path: Path, query: str, expected_value: str, op: str | None, condition: dict | None
) -> None:
    monitor = kuma_monitor(V1, "API health")
    monitor.update(notificationIDList={}, jsonPath=query, expectedValue=expected_value)
    if op is not None:
        monitor["jsonPathOperator"] = op
    result = kuma.convert(write_backup(tmp_path, [monitor]))
    if condition is None:
        assert result.targets == [] and notes(result)[-1].endswith(", skipped")
    else:
        assert result.targets[0]["json"] == [condition]


# -- malformed input -----------------------------------------------------------------------

EXPECTED = (
    "expected an Uptime Kuma backup: a JSON object with `monitorList` and `notificationList`,"
    " as Settings > Backup > Export writes it"
)
MALFORMED = [
    pytest.param(
        '{\n  "version": "1.23.16",\n  "monitorList": [\n    {"id": 1,}\n  ]\n}',
        f"not valid JSON (Expecting property name enclosed in double quotes, column 14); {EXPECTED}",
        4,
        id="a JSON syntax error names its line",
    ),
    pytest.param(
        "version: 1.23\nmonitors: []\n",
        f"not valid JSON (Expecting value, column 1); {EXPECTED}",
        1,
        id="YAML, not JSON",
    ),
    pytest.param("", f"not valid JSON (Expecting value, column 1); {EXPECTED}", 1, id="empty"),
    pytest.param("[]", EXPECTED, None, id="a list"),
    pytest.param('{"endpoints": []}', EXPECTED, None, id="another tool's config"),
    pytest.param(
        '{"monitorList": 3}',
        f"`monitorList` is a number; {EXPECTED}",
        None,
        id="monitorList a number",
    ),
    pytest.param(
        '{"monitorList": [{"id": 1, "name": "x"}]}',
        "`monitorList[0]` is not a Kuma monitor: expected an object with a type",
        None,
        id="a monitor without a type",
    ),
    pytest.param(
        '{"monitorList": [], "notificationList": {"1": {}}}',
        f"`notificationList` is not a list of objects; {EXPECTED}",
        None,
        id="notificationList an object",
    ),
]


@pytest.mark.parametrize(("text", "message", "line"), MALFORMED)
def test_a_file_that_is_not_a_backup_is_an_error(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    path = tmp_path / "backup.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        kuma.convert(str(path))
    assert (caught.value.path, caught.value.message, caught.value.line) == (
        str(path),
        message,
        line,
    )
    where = f"{path}:{line}" if line else str(path)
    assert str(caught.value) == f"{where}: {message}"


def test_a_missing_or_binary_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read it"):
        kuma.convert(str(tmp_path / "nope.json"))
    binary = tmp_path / "kuma.db"
    binary.write_bytes(b"SQLite format 3\x00\xff\xfe")
    with pytest.raises(InputError, match="is not UTF-8 text"):
        kuma.convert(str(binary))


def test_monitors_keyed_by_id_are_read_too(tmp_path: Path) -> None:
    """A dump of the web app's monitor list (an object keyed by id) is the same backup."""
    monitor = {**kuma_monitor(V1, "Database"), "parent": None, "notificationIDList": {}}
    path = tmp_path / "backup.json"
    path.write_text(json.dumps({"version": "2.0.2", "monitorList": {"7": monitor}}))
    assert kuma.convert(str(path)).targets == [
        {"name": "Database", "kind": "tcp", "host": "db.internal", "port": 5432, "interval_s": 60}
    ]


# -- the API accepts it --------------------------------------------------------------------


@pytest.mark.parametrize("path", [V1, V2], ids=["1.x", "2.x"])
async def test_the_real_apply_endpoint_accepts_the_output(client, path: str) -> None:
    result = imported(path)
    # As the command does: render the file, read it back as `vigil apply` does (${...} expanded).
    doc = load_expanded(render(result, "kuma", [path], "vigil.yaml"), "vigil.yaml", {})
    resp = await client.post("/api/v1/apply", json=doc, params={"dry_run": "true"})
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["dry_run"] is True
    assert sorted(answer["created"]) == sorted(t["name"] for t in result.targets)
    assert sorted(answer["channels"]["created"]) == sorted(c["name"] for c in result.channels)
    assert sorted(answer["routes"]["created"]) == sorted(r["name"] for r in result.routes)
    literal = (
        next(c for c in answer["changes"] if c["name"] == "Literal dollar") if path == V2 else None
    )
    if literal is not None:
        assert literal["fields"]["keyword"]["new"] == "${PRICE}"


# -- the command ---------------------------------------------------------------------------


def test_the_command_writes_the_file_and_prints_every_note_and_the_summary(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "vigil.yaml"
    assert main(["import", "kuma", V2, "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    result = imported(V2)
    assert err == [f"vigil import kuma: {line}" for line in [*notes(result), result.summary()]]
    assert out.read_text() == render(result, "kuma", [V2], str(out))


def test_the_command_writes_nothing_for_a_file_that_is_not_a_backup(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "backup.json"
    bad.write_text('{\n  "monitorList": [\n    oops\n  ]\n}\n')
    out = tmp_path / "vigil.yaml"
    assert main(["import", "kuma", str(bad), "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"vigil import kuma: {bad}:3: not valid JSON")
    assert not out.exists()
