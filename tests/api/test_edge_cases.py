"""Hostile input on every route that takes a body or query parameters answers 400 naming the
culprit, never 500: bytes that are not UTF-8, deep nesting, datetimes at the edge of the
range, hand-made cursors, invisible characters in names. And IP literals are stored canonical."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import HTTP_TARGET, create

DEEP = b"[" * 5000 + b"]" * 5000  # far past msgspec's recursion limit, well under 64 KiB
BAD_UTF8 = b"caf\xc3\x28 \xff"  # a broken two-byte sequence, then a byte that never starts one


def _json(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def _with_raw(doc: dict, key: str, raw: bytes) -> bytes:
    """`doc` as JSON with the string value of `key` replaced by raw bytes."""
    marker = "@@RAW@@"
    text = json.dumps({**doc, key: marker}).encode()
    return text.replace(marker.encode(), raw)


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode()


TCP = {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
ONE_TARGET = {"targets": [{**HTTP_TARGET, "name": "@@RAW@@"}]}

# (method, path with {id} for a stored target, body bytes or None, the field the error names)
CASES = [
    # bodies whose strings are not UTF-8
    pytest.param(
        "POST",
        "/api/v1/targets",
        _with_raw(HTTP_TARGET, "name", BAD_UTF8),
        "body",
        id="create-utf8-value",
    ),
    pytest.param(
        "POST",
        "/api/v1/targets",
        _json(HTTP_TARGET).replace(b'"url"', b'"u\xffrl"'),
        "body",
        id="create-utf8-key",
    ),
    pytest.param(
        "PUT",
        "/api/v1/targets/{id}",
        _with_raw(HTTP_TARGET, "url", BAD_UTF8),
        "body",
        id="replace-utf8",
    ),
    pytest.param(
        "PATCH", "/api/v1/targets/{id}", _with_raw({}, "name", BAD_UTF8), "body", id="patch-utf8"
    ),
    pytest.param(
        "POST",
        "/api/v1/apply",
        json.dumps(ONE_TARGET).encode().replace(b"@@RAW@@", BAD_UTF8),
        "body",
        id="apply-utf8",
    ),
    # bodies nested thousands of levels deep
    pytest.param(
        "POST",
        "/api/v1/targets",
        b'{"name":"a","x":' + DEEP + b',"kind":"http"}',
        "body",
        id="create-deep",
    ),
    pytest.param(
        "POST",
        "/api/v1/targets",
        b'{"labels":{"a":' + DEEP + b"}}",
        "body",
        id="create-deep-labels",
    ),
    pytest.param("PUT", "/api/v1/targets/{id}", b'{"x":' + DEEP + b"}", "body", id="replace-deep"),
    pytest.param("PATCH", "/api/v1/targets/{id}", DEEP, "body", id="patch-deep"),
    pytest.param(
        "POST", "/api/v1/apply", b'{"targets":[{"x":' + DEEP + b"}]}", "body", id="apply-deep"
    ),
    # datetimes that an offset pushes outside the years 1 to 9999
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?since=0001-01-01T00:00:00%2B05:00",
        None,
        "since",
        id="checks-since-year-1",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?until=9999-12-31T23:59:59-05:00",
        None,
        "until",
        id="checks-until-year-9999",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/uptime?since=0001-01-01T00:00:00%2B05:00&until=0001-01-02T00:00:00Z",
        None,
        "since",
        id="uptime-since-year-1",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/uptime?since=9999-12-31T00:00:00Z&until=9999-12-31T23:59:59-05:00",
        None,
        "until",
        id="uptime-until-year-9999",
    ),
    # hand-made cursors
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?cursor=" + _cursor("9999-01-01T00:00:00+00:00", 1_000_000),
        None,
        "cursor",
        id="checks-cursor-huge-offset",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?cursor=" + _cursor("2026-01-01T00:00:00+00:00", 1001),
        None,
        "cursor",
        id="checks-cursor-offset-over-a-page",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?cursor=" + _cursor("2026-01-01T00:00:00+00:00", -1),
        None,
        "cursor",
        id="checks-cursor-negative-offset",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/checks?cursor=" + _cursor("0001-01-01T00:00:00+05:00", 1),
        None,
        "cursor",
        id="checks-cursor-year-1",
    ),
    pytest.param(
        "GET",
        "/api/v1/incidents?cursor=" + _cursor("9999-12-31T23:59:59-05:00", 1),
        None,
        "cursor",
        id="incidents-cursor-year-9999",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets/{id}/incidents?cursor=" + _cursor("0001-01-01T00:00:00+05:00", 1),
        None,
        "cursor",
        id="target-incidents-cursor-year-1",
    ),
    pytest.param(
        "GET",
        "/api/v1/summary?cursor=" + _cursor("a\u0000b"),
        None,
        "cursor",
        id="summary-cursor-nul",
    ),
    pytest.param(
        "GET",
        "/api/v1/summary?cursor=" + _cursor("a\ud800b"),
        None,
        "cursor",
        id="summary-cursor-lone-surrogate",
    ),
    pytest.param(
        "GET",
        "/api/v1/targets?cursor=" + _cursor(2**63),
        None,
        "cursor",
        id="targets-cursor-over-bigint",
    ),
    # query text PostgreSQL cannot take
    pytest.param("GET", "/api/v1/summary?q=a%00b", None, "q", id="summary-q-nul"),
    pytest.param("GET", "/api/v1/summary?label=env:a%00b", None, "label", id="summary-label-nul"),
    # names and label values with control or format characters (Unicode Cc, Cf)
    *[
        pytest.param(
            "POST",
            "/api/v1/targets",
            _json({**HTTP_TARGET, "name": f"web{ch}site"}),
            "name",
            id=f"create-name-U+{ord(ch):04X}",
        )
        for ch in (
            "\u0001",
            "\u001f",
            "\u007f",
            "\u0085",
            "\u00ad",
            "\u200b",
            "\u200e",
            "\u202e",
            "\u2066",
            "\ufeff",
        )
    ],
    pytest.param(
        "POST",
        "/api/v1/targets",
        _json({**HTTP_TARGET, "labels": {"env": "prod\u202e"}}),
        "labels.env",
        id="create-label-value-bidi",
    ),
    pytest.param(
        "PUT",
        "/api/v1/targets/{id}",
        _json({**HTTP_TARGET, "name": "\u2066web"}),
        "name",
        id="replace-name-isolate",
    ),
    pytest.param(
        "PATCH", "/api/v1/targets/{id}", _json({"name": "we\u200eb"}), "name", id="patch-name-lrm"
    ),
    pytest.param(
        "PATCH",
        "/api/v1/targets/{id}",
        _json({"labels": {"team": "a\u0007"}}),
        "labels.team",
        id="patch-label-value-bell",
    ),
    pytest.param(
        "POST",
        "/api/v1/apply",
        _json({"targets": [{**TCP, "name": "db\u202e"}]}),
        "targets[0].name",
        id="apply-name-rlo",
    ),
    pytest.param(
        "POST",
        "/api/v1/apply",
        _json({"targets": [{**TCP, "labels": {"env": "\u200bprod"}}]}),
        "targets[0].labels.env",
        id="apply-label-value-zwsp",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES)
async def test_hostile_input_is_400_naming_the_field(client, db, method, path, body, field) -> None:
    target = await create(client)
    resp = await client.request(
        method,
        path.format(id=target["id"]),
        content=body,
        headers={"content-type": "application/json"} if body is not None else {},
    )
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    # nothing was written: the one target is as it was
    assert await db.fetchval("SELECT count(*) FROM targets") == 1
    assert (await client.get(f"/api/v1/targets/{target['id']}")).json() == target


@pytest.mark.parametrize(
    "name",
    ["東京 web", "Ünïcødé – prod ✓", "rocket 🚀 api", "no\u00a0break", "עברית web", "x" * 200],
    ids=["cjk", "accents-dash", "emoji", "nbsp", "hebrew", "max-length"],
)
async def test_names_in_any_script_are_kept(client, name) -> None:
    created = await create(client, name=name, labels={"owner": name})
    assert created["name"] == name and created["labels"] == {"owner": name}


async def test_a_real_cursor_still_pages_through_checks(client, db) -> None:
    """The bound on a cursor's offset leaves the cursors the API hands out working."""
    target = await create(client)
    await db.execute(
        """INSERT INTO checks (target_id, checked_at, due_at, ok, latency_ms)
           SELECT $1, now() - make_interval(secs => i), now() - make_interval(secs => i), true, 1
             FROM generate_series(1, 25) AS i""",
        target["id"],
    )
    seen: list[str] = []
    url = f"/api/v1/targets/{target['id']}/checks?limit=10"
    while url:
        page = (await client.get(url)).json()
        seen += [c["checked_at"] for c in page["items"]]
        url = (
            f"/api/v1/targets/{target['id']}/checks?limit=10&cursor={page['next']}"
            if page["next"]
            else None
        )
    assert len(seen) == 25 == len(set(seen))


# (host as sent, host as stored): ICMP replies come from the canonical address, and `vigil
# apply` compares by value, so a literal is stored the way ipaddress writes it.
HOSTS = [
    pytest.param("0:0:0:0:0:0:0:1", "::1", id="long-form"),
    pytest.param("::0001", "::1", id="leading-zeros"),
    pytest.param("0000:0000::1", "::1", id="padded-groups"),
    pytest.param("FE80::ABCD:0:0:1", "fe80::abcd:0:0:1", id="upper-case"),
    pytest.param("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", id="longest-zero-run"),
    pytest.param("::ffff:127.0.0.1", "::ffff:7f00:1", id="v4-mapped"),
    pytest.param("127.0.0.1", "127.0.0.1", id="ipv4-kept"),
    pytest.param("Example.COM", "Example.COM", id="name-kept"),
]


@pytest.mark.parametrize(("given", "stored"), HOSTS)
async def test_ip_literals_are_stored_canonical(client, db, given, stored) -> None:
    icmp = (
        await client.post("/api/v1/targets", json={"name": "ping", "kind": "icmp", "host": given})
    ).json()
    tcp = (await client.post("/api/v1/targets", json={**TCP, "host": given})).json()
    assert icmp["host"] == stored and tcp["host"] == stored
    bracketed = f"[{stored}]" if ":" in stored else stored
    # the row the worker reads
    assert await db.fetchval("SELECT address FROM targets WHERE id = $1", icmp["id"]) == stored
    assert (
        await db.fetchval("SELECT address FROM targets WHERE id = $1", tcp["id"])
        == f"{bracketed}:5432"
    )

    for target in (icmp, tcp):  # PATCH and PUT store the same form
        patched = (
            await client.patch(f"/api/v1/targets/{target['id']}", json={"host": "127.0.0.2"})
        ).json()
        assert patched["host"] == "127.0.0.2"
        patched = (
            await client.patch(f"/api/v1/targets/{target['id']}", json={"host": given})
        ).json()
        assert patched["host"] == stored
        body = {k: target[k] for k in ("name", "kind", "host")} | (
            {"port": 5432} if target["kind"] == "tcp" else {}
        )
        replaced = await client.put(f"/api/v1/targets/{target['id']}", json=body)
        assert replaced.json()["host"] == stored, replaced.text


async def test_apply_of_a_non_canonical_literal_is_idempotent(client, db) -> None:
    doc = {
        "targets": [
            {"name": "ping", "kind": "icmp", "host": "0:0:0:0:0:0:0:1"},
            {**TCP, "host": "::0001"},
        ]
    }
    first = (await client.post("/api/v1/apply", json=doc)).json()
    assert sorted(first["created"]) == ["db", "ping"], first
    again = (await client.post("/api/v1/apply", json=doc)).json()
    assert again["updated"] == [] and sorted(again["unchanged"]) == ["db", "ping"], again
    assert sorted(await db.fetchval("SELECT array_agg(address) FROM targets")) == [
        "::1",
        "[::1]:5432",
    ]
