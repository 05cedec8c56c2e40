"""Every input rule of the target API, table-driven: the status, and the field the error names."""

from __future__ import annotations

import json

import pytest

from .conftest import HTTP_TARGET, create

TCP = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
ICMP = {"name": "gw", "kind": "icmp", "host": "::1"}

# (body, field named in the error); every case must answer 400 and write nothing.
INVALID_CREATE = [
    pytest.param({**HTTP_TARGET, "name": None}, "name", id="name-null"),
    pytest.param({k: v for k, v in HTTP_TARGET.items() if k != "name"}, "name", id="name-missing"),
    pytest.param({**HTTP_TARGET, "name": ""}, "name", id="name-empty"),
    pytest.param({**HTTP_TARGET, "name": " padded"}, "name", id="name-leading-space"),
    pytest.param({**HTTP_TARGET, "name": "x" * 201}, "name", id="name-too-long"),
    pytest.param({**HTTP_TARGET, "name": "a\nb"}, "name", id="name-newline"),
    pytest.param({**HTTP_TARGET, "name": "a\u0000b"}, "name", id="name-nul"),
    pytest.param({k: v for k, v in HTTP_TARGET.items() if k != "kind"}, "kind", id="kind-missing"),
    pytest.param({**HTTP_TARGET, "kind": "smtp"}, "kind", id="kind-unknown"),
    pytest.param({**HTTP_TARGET, "url": None}, "url", id="url-null"),
    pytest.param({k: v for k, v in HTTP_TARGET.items() if k != "url"}, "url", id="url-missing"),
    pytest.param({**HTTP_TARGET, "url": "ftp://example.com/"}, "url", id="url-ftp"),
    pytest.param({**HTTP_TARGET, "url": "example.com"}, "url", id="url-no-scheme"),
    pytest.param({**HTTP_TARGET, "url": "http://exa mple.com/"}, "url", id="url-space"),
    pytest.param({**HTTP_TARGET, "url": "http://example.com:99999/"}, "url", id="url-port-range"),
    pytest.param({**HTTP_TARGET, "url": "http://example.com:0/"}, "url", id="url-port-zero"),
    pytest.param({**HTTP_TARGET, "url": "http://[zz::1]/"}, "url", id="url-bad-ipv6"),
    pytest.param({**HTTP_TARGET, "url": "http://x/" + "a" * 2048}, "url", id="url-too-long"),
    pytest.param({**HTTP_TARGET, "method": "BREW"}, "method", id="method-unknown"),
    pytest.param({**HTTP_TARGET, "expected_status": []}, "expected_status", id="status-empty"),
    pytest.param(
        {**HTTP_TARGET, "expected_status": [99]}, "expected_status[0]", id="status-below-100"
    ),
    pytest.param(
        {**HTTP_TARGET, "expected_status": [200, 600]}, "expected_status[1]", id="status-above-599"
    ),
    pytest.param(
        {**HTTP_TARGET, "expected_status": ["6xx"]}, "expected_status[0]", id="status-class-6xx"
    ),
    pytest.param(
        {**HTTP_TARGET, "expected_status": ["2XX"]}, "expected_status[0]", id="status-class-case"
    ),
    pytest.param(
        {**HTTP_TARGET, "expected_status": "2xx"}, "expected_status", id="status-not-list"
    ),
    pytest.param({**HTTP_TARGET, "keyword": ""}, "keyword", id="keyword-empty"),
    pytest.param(
        {**HTTP_TARGET, "keyword_absent": 5}, "keyword_absent", id="keyword-absent-number"
    ),
    pytest.param({**HTTP_TARGET, "headers": {"bad name": "x"}}, "headers", id="header-name-space"),
    pytest.param(
        {**HTTP_TARGET, "headers": {"X-A": "a\r\nInjected: 1"}}, "headers", id="header-crlf"
    ),
    pytest.param({**HTTP_TARGET, "headers": ["X-A"]}, "headers", id="headers-not-object"),
    pytest.param({**HTTP_TARGET, "verify_tls": "yes"}, "verify_tls", id="verify-tls-string"),
    pytest.param(
        {**HTTP_TARGET, "follow_redirects": 1}, "follow_redirects", id="follow-redirects-int"
    ),
    pytest.param(
        {**HTTP_TARGET, "max_redirects": -1}, "max_redirects", id="max-redirects-negative"
    ),
    pytest.param(
        {**HTTP_TARGET, "max_redirects": 31}, "max_redirects", id="max-redirects-too-many"
    ),
    pytest.param({**HTTP_TARGET, "interval_s": 0.5}, "interval_s", id="interval-below-1s"),
    pytest.param({**HTTP_TARGET, "interval_s": 86401}, "interval_s", id="interval-above-1d"),
    pytest.param({**HTTP_TARGET, "interval_s": "60"}, "interval_s", id="interval-string"),
    pytest.param(
        {**HTTP_TARGET, "interval_s": 10, "timeout_s": 10},
        "timeout_s",
        id="timeout-equals-interval",
    ),
    pytest.param(
        {**HTTP_TARGET, "interval_s": 10, "timeout_s": 20}, "timeout_s", id="timeout-above-interval"
    ),
    pytest.param({**HTTP_TARGET, "timeout_s": 0}, "timeout_s", id="timeout-zero"),
    pytest.param(
        {**HTTP_TARGET, "failure_threshold": 0}, "failure_threshold", id="failure-threshold-zero"
    ),
    pytest.param(
        {**HTTP_TARGET, "success_threshold": 0}, "success_threshold", id="success-threshold-zero"
    ),
    pytest.param(
        {**HTTP_TARGET, "success_threshold": 1.5}, "success_threshold", id="success-threshold-float"
    ),
    pytest.param({**HTTP_TARGET, "labels": {"env": 1}}, "labels", id="label-value-number"),
    pytest.param({**HTTP_TARGET, "labels": {"1bad": "x"}}, "labels", id="label-key-pattern"),
    pytest.param({**HTTP_TARGET, "labels": ["env"]}, "labels", id="labels-not-object"),
    pytest.param({**HTTP_TARGET, "enabled": "true"}, "enabled", id="enabled-string"),
    pytest.param({**HTTP_TARGET, "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({**HTTP_TARGET, "host": "example.com"}, "host", id="http-with-host"),
    pytest.param({**TCP, "url": "http://x/"}, "url", id="tcp-with-url"),
    pytest.param({k: v for k, v in TCP.items() if k != "port"}, "port", id="tcp-port-missing"),
    pytest.param({**TCP, "port": 0}, "port", id="tcp-port-zero"),
    pytest.param({**TCP, "port": 65536}, "port", id="tcp-port-too-big"),
    pytest.param({**TCP, "host": "exa mple"}, "host", id="tcp-host-space"),
    pytest.param({**TCP, "host": "example.com:80"}, "host", id="tcp-host-with-port"),
    pytest.param({**TCP, "host": "999.1.1.1"}, "host", id="tcp-host-bad-ipv4"),
    pytest.param({**TCP, "host": "1:2:3:4:5:6:7:8:9"}, "host", id="tcp-host-bad-ipv6"),
    pytest.param({**ICMP, "port": 1}, "port", id="icmp-with-port"),
    pytest.param({**ICMP, "host": ""}, "host", id="icmp-host-empty"),
    pytest.param({**ICMP, "host": "[::1]"}, "host", id="icmp-host-brackets"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATE)
async def test_invalid_create_is_400_naming_the_field(client, db, body, field) -> None:
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == 400 and problem["title"] and problem["detail"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await db.fetchval("SELECT count(*) FROM targets") == 0


VALID_CREATE = [
    pytest.param(
        HTTP_TARGET,
        {
            "url": HTTP_TARGET["url"],
            "method": "GET",
            "expected_status": ["2xx", "3xx"],
            "verify_tls": True,
            "follow_redirects": True,
            "max_redirects": 10,
        },
        id="http-defaults",
    ),
    pytest.param(
        {
            **HTTP_TARGET,
            "url": "https://[::1]:8443/health?x=1",
            "method": "HEAD",
            "expected_status": [200, "3xx"],
            "keyword": "ok",
            "keyword_absent": "error",
            "headers": {"X-Probe": "vigil"},
            "verify_tls": False,
            "follow_redirects": False,
            "max_redirects": 0,
        },
        {
            "method": "HEAD",
            "expected_status": [200, "3xx"],
            "keyword": "ok",
            "keyword_absent": "error",
            # Header values are write-only (test_target_secrets.py).
            "headers": {"X-Probe": "********"},
            "verify_tls": False,
            "follow_redirects": False,
            "max_redirects": 0,
        },
        id="http-every-option",
    ),
    pytest.param(
        TCP, {"host": "127.0.0.1", "port": 5432, "url": None, "method": None}, id="tcp-ipv4"
    ),
    pytest.param({**TCP, "host": "::1"}, {"host": "::1", "port": 5432}, id="tcp-ipv6"),
    pytest.param(ICMP, {"host": "::1", "port": None}, id="icmp"),
    pytest.param(
        {"name": "short", "kind": "icmp", "host": "localhost", "interval_s": 4},
        {"interval_s": 4, "timeout_s": 2},
        id="timeout-default-halves-short-interval",
    ),
    pytest.param(
        {
            **HTTP_TARGET,
            "labels": {"env": "prod", "team.name/x": ""},
            "failure_threshold": 3,
            "success_threshold": 2,
            "enabled": False,
        },
        {
            "labels": {"env": "prod", "team.name/x": ""},
            "failure_threshold": 3,
            "success_threshold": 2,
            "enabled": False,
        },
        id="common-fields",
    ),
]


@pytest.mark.parametrize(("body", "expected"), VALID_CREATE)
async def test_valid_create_round_trips(client, body, expected) -> None:
    resp = await client.post("/api/v1/targets", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert {k: created[k] for k in expected} == expected
    got = (await client.get(f"/api/v1/targets/{created['id']}")).json()
    assert got == created


async def test_malformed_json_is_400(client, db) -> None:
    resp = await client.post(
        "/api/v1/targets", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "body"
    assert "JSON" in resp.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"null", b'"text"', b"42"],
    ids=["empty", "array", "null", "string", "number"],
)
async def test_body_that_is_not_an_object_is_400(client, body) -> None:
    resp = await client.post(
        "/api/v1/targets", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["errors"][0]["field"] == "body"


async def test_body_over_64_kib_is_413(client, db) -> None:
    body = json.dumps({**HTTP_TARGET, "labels": {f"k{i}": "v" * 150 for i in range(500)}}).encode()
    assert len(body) > 64 * 1024
    resp = await client.post(
        "/api/v1/targets", content=body, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await db.fetchval("SELECT count(*) FROM targets") == 0


async def test_duplicate_name_is_409(client, db) -> None:
    await create(client)
    resp = await client.post("/api/v1/targets", json={**HTTP_TARGET, "url": "http://127.0.0.1:10/"})
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {"field": "name", "message": "a target named 'web' already exists"}
    ]
    other = await create(client, name="other")
    resp = await client.patch(f"/api/v1/targets/{other['id']}", json={"name": "web"})
    assert resp.status_code == 409
    assert (await client.get(f"/api/v1/targets/{other['id']}")).json()["name"] == "other"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/targets/999999", None),
        ("PUT", "/api/v1/targets/999999", HTTP_TARGET),
        ("PATCH", "/api/v1/targets/999999", {"interval_s": 30}),
        ("DELETE", "/api/v1/targets/999999", None),
        ("POST", "/api/v1/targets/999999/pause", None),
        ("POST", "/api/v1/targets/999999/resume", None),
        ("GET", "/api/v1/targets/999999/checks", None),
        ("GET", "/api/v1/targets/999999/uptime", None),
        ("GET", "/api/v1/targets/999999/uptime/daily", None),
        ("GET", "/api/v1/targets/999999/latency", None),
        ("GET", "/api/v1/targets/999999/incidents", None),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("/") else None,
)
async def test_unknown_id_is_404(client, method, path, body) -> None:
    resp = await client.request(method, path, json=body)
    assert resp.status_code == 404, resp.text
    assert resp.json()["detail"] == "target 999999 does not exist"


INVALID_PATCH = [
    pytest.param({"interval_s": 0}, "interval_s", id="interval-zero"),
    pytest.param({"timeout_s": 30}, "timeout_s", id="timeout-not-below-interval"),
    pytest.param({"url": None}, "url", id="url-null"),
    pytest.param({"url": "gopher://x/"}, "url", id="url-scheme"),
    pytest.param({"kind": "tcp"}, "host", id="kind-change-without-fields"),
    pytest.param({"port": 80}, "port", id="port-on-http"),
    pytest.param({"id": 5}, "id", id="id-read-only"),
    pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="created-at-read-only"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"enabled": None}, "enabled", id="enabled-null"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_PATCH)
async def test_invalid_patch_is_400_and_changes_nothing(client, body, field) -> None:
    target = await create(client)
    resp = await client.patch(f"/api/v1/targets/{target['id']}", json=body)
    assert resp.status_code == 400, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    assert (await client.get(f"/api/v1/targets/{target['id']}")).json() == target


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/targets?limit=0", "limit"),
        ("/api/v1/targets?limit=abc", "limit"),
        ("/api/v1/targets?cursor=!!!", "cursor"),
        ("/api/v1/summary?state=sleeping", "state"),
        ("/api/v1/summary?label=nocolon", "label"),
        ("/api/v1/summary?cursor=eyJ4Ijp0cnVlfQ", "cursor"),
        ("/api/v1/incidents?limit=5000", "limit"),
        ("/api/v1/incidents?cursor=WyJ4IiwxXQ", "cursor"),
    ],
    ids=[
        "limit-zero",
        "limit-text",
        "cursor-garbage",
        "state-unknown",
        "label-no-colon",
        "cursor-wrong-shape",
        "incidents-limit",
        "incidents-cursor",
    ],
)
async def test_invalid_query_is_400_naming_the_parameter(client, path, field) -> None:
    resp = await client.get(path)
    assert resp.status_code == 400, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=2h", "window"),
        ("window=24h&since=2024-01-01T00:00:00Z", "window"),
        ("since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z", "since"),
        ("until=2024-01-01T00:00:00Z", "since"),
        ("since=yesterday", "since"),
    ],
    ids=[
        "window-unknown",
        "window-and-since",
        "since-after-until",
        "until-alone",
        "since-not-a-time",
    ],
)
async def test_invalid_uptime_range_is_400(client, query, field) -> None:
    target = await create(client)
    resp = await client.get(f"/api/v1/targets/{target['id']}/uptime?{query}")
    assert resp.status_code == 400, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
