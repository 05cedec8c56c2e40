"""The dns, tls and push kinds and HTTP's new rules in the API: create, read, replace, patch,
every bad field named, the stored settings the worker decodes, the secret push URL, apply, the
checks' details, the summary's kind filter and the certificate expiry metric."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from vigil_api.app import create_app
from vigil_core import kinds
from vigil_core.settings import Settings

from .conftest import HTTP_TARGET, create, make_app

DNS = {"name": "resolver", "kind": "dns", "query_name": "example.com"}
TLS = {"name": "cert", "kind": "tls", "host": "127.0.0.1", "port": 443}
PUSH = {"name": "nightly", "kind": "push", "period_s": 3600}
TCP = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
ICMP = {"name": "gw", "kind": "icmp", "host": "127.0.0.1"}
HTTPS = {**HTTP_TARGET, "url": "https://127.0.0.1:8443/health"}


def worker_read(kind: str, stored: dict) -> dict:
    """The settings the worker decodes from a row, as the JSON that would store them again."""
    return msgspec.json.decode(msgspec.json.encode(kinds.encode(kinds.decode(kind, stored))))


PUSH_URL = re.compile(r"^http://127\.0\.0\.1/api/v1/push/([0-9a-f]{64})$")

# (body, stored address, stored settings, fields the API shows)
VALID = [
    pytest.param(
        DNS,
        "example.com",
        {"record_type": "A", "expected_rcode": "NOERROR", "expected": [], "match": "any"},
        {"query_name": "example.com", "server": None, "host": None, "max_latency_ms": None},
        id="dns-defaults",
    ),
    pytest.param(
        {
            **DNS,
            "query_name": "_sip._tcp.example.com.",
            "record_type": "SRV",
            "server": "::1",
            "expected": ["10 5 5060 sip.example.com."],
            "match": "exact",
            "max_latency_ms": 250,
        },
        "_sip._tcp.example.com.",
        {
            "record_type": "SRV",
            "server": "[::1]:53",
            "expected_rcode": "NOERROR",
            "expected": ["10 5 5060 sip.example.com."],
            "match": "exact",
            "max_latency_ms": 250.0,
        },
        {"server": "[::1]:53", "match": "exact", "max_latency_ms": 250.0},
        id="dns-every-field-server-canonical",
    ),
    pytest.param(
        {**DNS, "server": "127.0.0.1:5353", "expected_rcode": "NXDOMAIN"},
        "example.com",
        {
            "record_type": "A",
            "server": "127.0.0.1:5353",
            "expected_rcode": "NXDOMAIN",
            "expected": [],
            "match": "any",
        },
        {"expected_rcode": "NXDOMAIN"},
        id="dns-nxdomain-expected",
    ),
    pytest.param(
        TLS,
        "127.0.0.1:443",
        {"starttls": "none", "min_days_valid": 14},
        {"host": "127.0.0.1", "port": 443, "server_name": None, "min_days_valid": 14},
        id="tls-defaults",
    ),
    pytest.param(
        {
            **TLS,
            "host": "0:0::1",
            "port": 587,
            "starttls": "smtp",
            "server_name": "mail.example.com",
            "min_days_valid": 0,
            "max_latency_ms": 900,
        },
        "[::1]:587",
        {
            "starttls": "smtp",
            "server_name": "mail.example.com",
            "min_days_valid": 0,
            "max_latency_ms": 900.0,
        },
        {"host": "::1", "port": 587, "starttls": "smtp", "min_days_valid": 0},
        id="tls-starttls-ipv6",
    ),
    pytest.param(
        PUSH,
        "push",
        {"grace_s": 60.0},
        {"period_s": 3600.0, "grace_s": 60.0, "interval_s": 3600.0, "timeout_s": 10.0},
        id="push-defaults",
    ),
    pytest.param(
        {**PUSH, "period_s": 10, "grace_s": 0},
        "push",
        {"grace_s": 0.0},
        {"period_s": 10.0, "grace_s": 0.0, "interval_s": 10.0, "timeout_s": 5.0},
        id="push-shortest-period",
    ),
    pytest.param(
        {
            **HTTPS,
            "keyword": "^ok$",
            "keyword_regex": True,
            "json": [
                {"path": "status", "op": "==", "value": "ok"},
                {"path": "checks[?name=='db'].ok | [0]", "op": "exists"},
                {"path": "latency_ms", "op": "<", "value": 250},
                {"path": "version", "op": "matches", "value": "^v[0-9]+\\.[0-9]+$"},
                {"path": "error", "op": "==", "value": None},
                {"path": "release", "op": ">=", "value": "2026-01"},
            ],
            "tls_min_days_valid": 7,
            "max_latency_ms": 4999,
        },
        "https://127.0.0.1:8443/health",
        {
            "method": "GET",
            "expected_status": ["2xx", "3xx"],
            "keyword": "^ok$",
            "headers": {},
            "verify_tls": True,
            "follow_redirects": True,
            "max_redirects": 10,
            "keyword_regex": True,
            "json": [
                {"path": "status", "op": "==", "value": "ok"},
                {"path": "checks[?name=='db'].ok | [0]", "op": "exists", "value": None},
                {"path": "latency_ms", "op": "<", "value": 250},
                {"path": "version", "op": "matches", "value": "^v[0-9]+\\.[0-9]+$"},
                {"path": "error", "op": "==", "value": None},
                {"path": "release", "op": ">=", "value": "2026-01"},
            ],
            "tls_min_days_valid": 7,
            "max_latency_ms": 4999.0,
            "allow_url_password": False,
        },
        {"keyword_regex": True, "tls_min_days_valid": 7, "max_latency_ms": 4999.0},
        id="http-json-regex-expiry-latency",
    ),
    pytest.param(
        {**TCP, "max_latency_ms": 100},
        "127.0.0.1:5432",
        {"max_latency_ms": 100.0},
        {"max_latency_ms": 100.0},
        id="tcp-latency",
    ),
    pytest.param(
        {**ICMP, "max_latency_ms": 20.5},
        "127.0.0.1",
        {"max_latency_ms": 20.5},
        {"max_latency_ms": 20.5},
        id="icmp-latency",
    ),
]


@pytest.mark.parametrize(("body", "address", "settings", "shown"), VALID)
async def test_create_stores_what_the_worker_decodes(
    client, db, body, address, settings, shown
) -> None:
    created = await client.post("/api/v1/targets", json=body)
    assert created.status_code == 201, created.text
    t = created.json()
    assert {k: t[k] for k in shown} == shown
    row = await db.fetchrow("SELECT kind, address, settings FROM targets WHERE id = $1", t["id"])
    assert (row["address"], row["settings"]) == (address, settings)
    # The worker's read of the row, and back: exactly the stored value, nothing lost or added.
    assert worker_read(row["kind"], row["settings"]) == settings
    got = (await client.get(f"/api/v1/targets/{t['id']}")).json()
    assert got == {**t, "updated_at": got["updated_at"]}


# (body, field the 400 names); every case writes nothing.
INVALID = [
    pytest.param({**DNS, "query_name": "exa mple.com"}, "query_name", id="dns-name-space"),
    pytest.param({**DNS, "query_name": "[::1]"}, "query_name", id="dns-name-brackets"),
    pytest.param({**DNS, "query_name": "a" * 64 + ".com"}, "query_name", id="dns-label-64"),
    pytest.param({**DNS, "query_name": ".".join(["a" * 63] * 4)}, "query_name", id="dns-name-255"),
    pytest.param({**DNS, "query_name": "a..b"}, "query_name", id="dns-empty-label"),
    pytest.param(
        {k: v for k, v in DNS.items() if k != "query_name"}, "query_name", id="dns-no-name"
    ),
    pytest.param({**DNS, "record_type": "PTR"}, "record_type", id="dns-type-unknown"),
    pytest.param({**DNS, "server": "dns.example.com"}, "server", id="dns-server-name"),
    pytest.param({**DNS, "server": "127.0.0.1:0"}, "server", id="dns-server-port-0"),
    pytest.param({**DNS, "server": "127.0.0.1:65536"}, "server", id="dns-server-port-big"),
    pytest.param({**DNS, "server": "[::1"}, "server", id="dns-server-bracket"),
    pytest.param({**DNS, "server": "999.1.1.1"}, "server", id="dns-server-bad-ip"),
    pytest.param({**DNS, "server": "1.1.1.1,8.8.8.8"}, "server", id="dns-server-list"),
    pytest.param({**DNS, "expected_rcode": "FORMERR"}, "expected_rcode", id="dns-rcode-unknown"),
    pytest.param({**DNS, "expected": "1.2.3.4"}, "expected", id="dns-expected-string"),
    pytest.param({**DNS, "expected": ["x" * 501]}, "expected[0]", id="dns-expected-501"),
    pytest.param({**DNS, "expected": [""]}, "expected[0]", id="dns-expected-empty"),
    pytest.param({**DNS, "expected": ["a"] * 51}, "expected", id="dns-expected-51"),
    pytest.param({**DNS, "match": "some"}, "match", id="dns-match-unknown"),
    pytest.param(
        {**DNS, "expected_rcode": "NXDOMAIN", "expected": ["1.2.3.4"]},
        "expected",
        id="dns-expected-with-error-rcode",
    ),
    pytest.param({**DNS, "max_latency_ms": 0}, "max_latency_ms", id="dns-latency-zero"),
    pytest.param(
        {**DNS, "timeout_s": 2, "max_latency_ms": 2000}, "max_latency_ms", id="dns-latency-timeout"
    ),
    pytest.param({**DNS, "url": "http://x/"}, "url", id="dns-foreign-field"),
    pytest.param({**TLS, "port": 0}, "port", id="tls-port-0"),
    pytest.param({k: v for k, v in TLS.items() if k != "port"}, "port", id="tls-no-port"),
    pytest.param({**TLS, "host": "zz::1"}, "host", id="tls-bad-ipv6"),
    pytest.param({**TLS, "starttls": "xmpp"}, "starttls", id="tls-starttls-unknown"),
    pytest.param({**TLS, "server_name": "a b"}, "server_name", id="tls-sni-space"),
    pytest.param({**TLS, "server_name": "*.example.com"}, "server_name", id="tls-sni-wildcard"),
    pytest.param({**TLS, "min_days_valid": -1}, "min_days_valid", id="tls-days-negative"),
    pytest.param({**TLS, "min_days_valid": 3651}, "min_days_valid", id="tls-days-3651"),
    pytest.param({**TLS, "min_days_valid": 1.5}, "min_days_valid", id="tls-days-fraction"),
    pytest.param({**TLS, "max_latency_ms": 10000}, "max_latency_ms", id="tls-latency-timeout"),
    pytest.param({**PUSH, "period_s": 9}, "period_s", id="push-period-9"),
    pytest.param({**PUSH, "period_s": 86401}, "period_s", id="push-period-over-a-day"),
    pytest.param(
        {k: v for k, v in PUSH.items() if k != "period_s"}, "period_s", id="push-no-period"
    ),
    pytest.param({**PUSH, "grace_s": -1}, "grace_s", id="push-grace-negative"),
    pytest.param({**PUSH, "grace_s": 86401}, "grace_s", id="push-grace-over-a-day"),
    pytest.param({**PUSH, "interval_s": 60}, "interval_s", id="push-interval"),
    pytest.param({**PUSH, "timeout_s": 5}, "timeout_s", id="push-timeout"),
    pytest.param({**PUSH, "host": "127.0.0.1"}, "host", id="push-host"),
    pytest.param({**PUSH, "max_latency_ms": 5}, "max_latency_ms", id="push-latency"),
    pytest.param({**HTTP_TARGET, "json": {"path": "a"}}, "json", id="json-not-list"),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "exists"}, {"path": "foo[", "op": "exists"}]},
        "json[1].path",
        id="json-path-parse-error",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "$.status", "op": "exists"}]},
        "json[0].path",
        id="json-path-jsonpath-syntax",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "", "op": "exists"}]},
        "json[0].path",
        id="json-path-empty",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a" * 501, "op": "exists"}]},
        "json[0].path",
        id="json-path-501",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "~="}]}, "json[0].op", id="json-op-unknown"
    ),
    pytest.param({**HTTP_TARGET, "json": [{"op": "exists"}]}, "json[0].path", id="json-no-path"),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "==", "value": 1, "x": 2}]},
        "json[0].x",
        id="json-unknown-key",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "=="}]}, "json[0].value", id="json-no-value"
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "exists", "value": 1}]},
        "json[0].value",
        id="json-exists-with-value",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": ">=", "value": [5]}]},
        "json[0].value",
        id="json-order-array",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "<", "value": True}]},
        "json[0].value",
        id="json-order-bool",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "matches", "value": 5}]},
        "json[0].value",
        id="json-matches-not-string",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "matches", "value": "(a"}]},
        "json[0].value",
        id="json-matches-bad-regex",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "matches", "value": "(a)\\1"}]},
        "json[0].value",
        id="json-matches-backreference",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "matches", "value": "a" * 501}]},
        "json[0].value",
        id="json-matches-501",
    ),
    pytest.param(
        {**HTTP_TARGET, "json": [{"path": "a", "op": "exists"}] * 51}, "json", id="json-51"
    ),
    pytest.param(
        {**HTTP_TARGET, "keyword": "(?=x)", "keyword_regex": True},
        "keyword",
        id="keyword-regex-lookahead",
    ),
    pytest.param(
        {**HTTP_TARGET, "keyword_absent": "[z-a]", "keyword_regex": True},
        "keyword_absent",
        id="keyword-absent-bad-regex",
    ),
    pytest.param(
        {**HTTP_TARGET, "keyword_regex": "yes"}, "keyword_regex", id="keyword-regex-string"
    ),
    pytest.param(
        {**HTTP_TARGET, "tls_min_days_valid": 7},
        "tls_min_days_valid",
        id="tls-days-on-plain-http",
    ),
    pytest.param(
        {**HTTPS, "tls_min_days_valid": 3651}, "tls_min_days_valid", id="http-tls-days-3651"
    ),
    pytest.param(
        {**HTTP_TARGET, "max_latency_ms": 5000}, "max_latency_ms", id="http-latency-timeout"
    ),
    pytest.param({**HTTP_TARGET, "max_latency_ms": -1}, "max_latency_ms", id="http-latency-neg"),
    pytest.param({**TCP, "max_latency_ms": 10000}, "max_latency_ms", id="tcp-latency-timeout"),
    pytest.param({**ICMP, "max_latency_ms": "fast"}, "max_latency_ms", id="icmp-latency-string"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
async def test_bad_field_is_400_naming_it(client, db, body, field) -> None:
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field], resp.text
    assert await db.fetchval("SELECT count(*) FROM targets") == 0


@pytest.mark.parametrize(("body", "field"), INVALID)
async def test_bad_field_in_apply_is_400_naming_it(client, db, body, field) -> None:
    resp = await client.post("/api/v1/apply", json={"targets": [body]})
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [f"targets[0].{field}"], resp.text
    assert await db.fetchval("SELECT count(*) FROM targets") == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            {**HTTP_TARGET, "json": [{"path": "foo[", "op": "exists"}]},
            ["JMESPath", "foo["],
            id="jmespath-error",
        ),
        pytest.param(
            {**HTTP_TARGET, "json": [{"path": "a", "op": "matches", "value": "(a"}]},
            ["RE2", "missing )"],
            id="re2-error",
        ),
        pytest.param(
            {**HTTP_TARGET, "max_latency_ms": 6000}, ["timeout_s", "5000"], id="latency-timeout"
        ),
        pytest.param({**DNS, "server": "dns.example.com"}, ["IP address"], id="server-by-address"),
    ],
)
async def test_errors_say_how_to_fix_them(client, body, words) -> None:
    resp = await client.post("/api/v1/targets", json=body)
    message = resp.json()["errors"][0]["message"]
    assert all(w in message for w in words), message


# (kind's body, PUT body, PATCH, fields the PATCH answer shows)
CHANGES = [
    pytest.param(
        {**DNS, "server": "127.0.0.1", "expected": ["192.0.2.1"]},
        {**DNS, "query_name": "example.org", "record_type": "TXT", "expected": ["v=spf1 -all"]},
        {"server": "[::1]:5353", "match": "all", "max_latency_ms": 300},
        {
            "query_name": "example.org",
            "record_type": "TXT",
            "server": "[::1]:5353",
            "expected": ["v=spf1 -all"],
            "match": "all",
            "max_latency_ms": 300.0,
        },
        id="dns",
    ),
    pytest.param(
        {**TLS, "server_name": "a.example.com"},
        {**TLS, "port": 993, "starttls": "none"},
        {"starttls": "imap", "port": 143, "min_days_valid": 30},
        {"port": 143, "starttls": "imap", "server_name": None, "min_days_valid": 30},
        id="tls",
    ),
    pytest.param(
        PUSH,
        {**PUSH, "period_s": 86400, "grace_s": 600},
        {"grace_s": 1800},
        {"period_s": 86400.0, "interval_s": 86400.0, "grace_s": 1800.0},
        id="push",
    ),
    pytest.param(
        {**HTTPS, "json": [{"path": "ok", "op": "==", "value": True}]},
        {**HTTPS, "keyword": "up", "keyword_regex": True},
        {"json": [{"path": "n", "op": ">", "value": 3}], "tls_min_days_valid": None},
        {
            "keyword": "up",
            "keyword_regex": True,
            "json": [{"path": "n", "op": ">", "value": 3}],
            "tls_min_days_valid": None,
        },
        id="http",
    ),
]


@pytest.mark.parametrize(("body", "replacement", "change", "shown"), CHANGES)
async def test_replace_and_patch_each_kind(client, db, body, replacement, change, shown) -> None:
    t = (await client.post("/api/v1/targets", json=body)).json()
    put = await client.put(f"/api/v1/targets/{t['id']}", json=replacement)
    assert put.status_code == 200, put.text
    patched = await client.patch(f"/api/v1/targets/{t['id']}", json=change)
    assert patched.status_code == 200, patched.text
    got = patched.json()
    assert {k: got[k] for k in shown} == shown
    assert got["push_url"] == t["push_url"]  # a push target keeps its URL through writes
    row = await db.fetchrow("SELECT kind, settings FROM targets WHERE id = $1", t["id"])
    assert worker_read(row["kind"], row["settings"]) == row["settings"]


@pytest.mark.parametrize(
    ("body", "change", "field"),
    [
        pytest.param(PUSH, {"interval_s": 30}, "interval_s", id="push-has-no-interval"),
        pytest.param(PUSH, {"period_s": 5}, "period_s", id="push-period-range"),
        pytest.param(DNS, {"expected_rcode": "SERVFAIL", "expected": ["x"]}, "expected", id="dns"),
        pytest.param(DNS, {"kind": "tls"}, "host", id="dns-to-tls-needs-host"),
        pytest.param(HTTP_TARGET, {"kind": "push"}, "period_s", id="http-to-push-needs-period"),
        pytest.param(HTTP_TARGET, {"tls_min_days_valid": 3}, "tls_min_days_valid", id="http"),
        pytest.param(
            {**HTTPS, "tls_min_days_valid": 3},
            {"url": "http://127.0.0.1/"},
            "tls_min_days_valid",
            id="https-to-http-keeps-expiry-rule",
        ),
        pytest.param(TLS, {"max_latency_ms": 10_000}, "max_latency_ms", id="tls-latency"),
    ],
)
async def test_bad_patch_is_400_naming_the_field(client, body, change, field) -> None:
    t = (await client.post("/api/v1/targets", json=body)).json()
    resp = await client.patch(f"/api/v1/targets/{t['id']}", json=change)
    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [field], resp.text
    assert (await client.get(f"/api/v1/targets/{t['id']}")).json() == t


async def test_kind_changes_carry_what_fits(client, db) -> None:
    """http -> push keeps the common fields but not interval_s (a push target's is its
    period); push -> dns drops the token; dns -> http drops the DNS fields."""
    t = await create(client, labels={"team": "ops"}, failure_threshold=3)
    push = (
        await client.patch(f"/api/v1/targets/{t['id']}", json={"kind": "push", "period_s": 600})
    ).json()
    assert (push["kind"], push["period_s"], push["interval_s"], push["url"]) == (
        "push",
        600.0,
        600.0,
        None,
    )
    assert (push["labels"], push["failure_threshold"]) == ({"team": "ops"}, 3)
    token = PUSH_URL.match(push["push_url"])
    assert token is not None
    assert (
        await db.fetchval("SELECT token FROM push_tokens WHERE target_id = $1", t["id"])
        == (token[1])
    )

    dns = (
        await client.patch(
            f"/api/v1/targets/{t['id']}", json={"kind": "dns", "query_name": "example.com"}
        )
    ).json()
    assert (dns["push_url"], dns["period_s"], dns["grace_s"], dns["interval_s"]) == (
        None,
        None,
        None,
        60.0,
    )
    assert await db.fetchval("SELECT count(*) FROM push_tokens") == 0

    http = await client.patch(
        f"/api/v1/targets/{t['id']}", json={"kind": "http", "url": "http://127.0.0.1:9/"}
    )
    assert http.status_code == 200, http.text
    assert (http.json()["query_name"], http.json()["record_type"]) == (None, None)


async def test_push_url_only_in_the_targets_own_answers(client) -> None:
    created = await client.post("/api/v1/targets", json=PUSH)
    t = created.json()
    token = PUSH_URL.match(t["push_url"])
    assert token is not None, t["push_url"]
    for method, path in [
        ("GET", f"/api/v1/targets/{t['id']}"),
        ("POST", f"/api/v1/targets/{t['id']}/pause"),
        ("POST", f"/api/v1/targets/{t['id']}/resume"),
    ]:
        assert (await client.request(method, path)).json()["push_url"] == t["push_url"]
    await create(client)  # an http target: no URL

    listed = (await client.get("/api/v1/targets")).json()["items"]
    assert [x["push_url"] for x in listed] == [None, None]
    for path in ["/api/v1/targets", "/api/v1/targets?kind=push", "/api/v1/summary"]:
        resp = await client.get(path)
        assert resp.status_code == 200 and token[1] not in resp.text, path
    http = (await client.get(f"/api/v1/targets/{listed[1]['id']}")).json()
    assert http["push_url"] is None

    rotated = (await client.post(f"/api/v1/targets/{t['id']}/push-token")).json()["push_url"]
    assert rotated != t["push_url"]
    assert (await client.get(f"/api/v1/targets/{t['id']}")).json()["push_url"] == rotated


async def test_apply_of_each_kind_is_unchanged_on_reapply(client, db) -> None:
    doc = {
        "targets": [
            {**DNS, "server": "::1", "expected": ["192.0.2.1"], "match": "all"},
            {**TLS, "host": "0::1", "starttls": "pop3"},
            {**PUSH, "grace_s": 120},
            {
                **HTTPS,
                "json": [{"path": "a", "op": "exists"}, {"path": "b", "op": "==", "value": None}],
                "keyword": "o+k",
                "keyword_regex": True,
                "tls_min_days_valid": 10,
                "max_latency_ms": 800,
            },
            {**TCP, "max_latency_ms": 50},
            {**ICMP, "max_latency_ms": 5},
        ]
    }
    names = sorted(t["name"] for t in doc["targets"])
    first = await client.post("/api/v1/apply", json=doc)
    assert first.status_code == 200, first.text
    assert sorted(first.json()["created"]) == names
    token = await db.fetchval("SELECT token FROM push_tokens")
    assert token is not None and token not in first.text

    again = (await client.post("/api/v1/apply", json=doc)).json()
    assert (again["created"], again["updated"], sorted(again["unchanged"])) == ([], [], names)

    doc["targets"][2] = {**PUSH, "grace_s": 300}
    changed = await client.post("/api/v1/apply", json=doc)
    body = changed.json()
    assert body["updated"] == ["nightly"]
    assert body["changes"][0]["fields"] == {"grace_s": {"old": 120.0, "new": 300.0}}
    assert token not in changed.text
    assert await db.fetchval("SELECT token FROM push_tokens") == token  # the same URL

    pushes = (await client.get("/api/v1/targets?kind=push")).json()["items"]
    got = (await client.get(f"/api/v1/targets/{pushes[0]['id']}")).json()
    assert got["push_url"].endswith(f"/api/v1/push/{token}")


async def test_checks_carry_their_details(client, db) -> None:
    t = (await client.post("/api/v1/targets", json=DNS)).json()
    details = {"answers": ["192.0.2.1"], "rcode": "NOERROR", "nested": {"ttl": [300]}}
    insert = (
        "INSERT INTO checks (target_id, checked_at, ok, latency_ms, details)"
        " VALUES ($1, $2, true, 3.5, $3)"
    )
    now = datetime.now(UTC)
    await db.execute(insert, t["id"], now, details)
    await db.execute(insert, t["id"], now - timedelta(seconds=1), None)
    page = (await client.get(f"/api/v1/targets/{t['id']}/checks")).json()
    assert [c["details"] for c in page["items"]] == [details, None]


@pytest.mark.parametrize("kind", ["dns", "tls", "push", "http", "tcp", "icmp"])
async def test_summary_and_list_filter_by_each_kind(client, kind) -> None:
    for body in (DNS, TLS, PUSH, HTTP_TARGET, TCP, ICMP):
        assert (await client.post("/api/v1/targets", json=body)).status_code == 201
    summary = (await client.get("/api/v1/summary", params={"kind": kind})).json()
    assert [i["kind"] for i in summary["items"]] == [kind]
    assert summary["counts"]["total"] == 1 and summary["counts"]["pending"] == 1
    listed = (await client.get("/api/v1/targets", params={"kind": kind})).json()["items"]
    assert [t["kind"] for t in listed] == [kind]
    if kind == "push":
        assert summary["items"][0]["address"] == "push"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by .ci/run")
async def test_tls_expiry_metric_for_tls_and_https(client, db) -> None:
    tls = (await client.post("/api/v1/targets", json=TLS)).json()
    https = await create(client, **HTTPS)
    push = (await client.post("/api/v1/targets", json=PUSH)).json()
    await db.execute(
        "UPDATE target_state SET status = 'up', tls_expires_at = $2 WHERE target_id = $1",
        tls["id"],
        datetime(2030, 1, 1, tzinfo=UTC),
    )
    await db.execute(
        "UPDATE target_state SET status = 'up', tls_expires_at = $2 WHERE target_id = $1",
        https["id"],
        datetime(2031, 1, 1, tzinfo=UTC),
    )
    text = (await client.get("/metrics")).text
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    series = {
        line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vigil_target_tls_expiry_timestamp_seconds{")
    }
    assert series == {
        f'id="{tls["id"]}",kind="tls",name="cert"': 1893456000.0,
        f'id="{https["id"]}",kind="http",name="web"': 1924992000.0,
    }
    assert f'id="{push["id"]}"' not in "".join(series)
    before = await db.fetchval(
        "SELECT tls_expires_at FROM target_state WHERE target_id = $1", tls["id"]
    )
    got = (await client.get(f"/api/v1/targets/{tls['id']}")).json()
    assert datetime.fromisoformat(got["tls_expires_at"]) == before


async def test_push_url_is_on_the_public_url_when_set(db_url, admin_headers) -> None:
    app = make_app(db_url, {"db_pool_max_size": 2, "public_url": "https://vigil.example.com/"})
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        client.headers.update(admin_headers)
        t = (await client.post("/api/v1/targets", json=PUSH)).json()
    assert re.fullmatch(r"https://vigil\.example\.com/api/v1/push/[0-9a-f]{64}", t["push_url"])
