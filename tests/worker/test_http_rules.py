"""HTTP's richer rules against loopback servers: JSON conditions, RE2 keywords, certificate days left."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import ssl
import time
from collections.abc import AsyncIterator

import brotli
import msgspec
import pytest
from aiohttp import web

from vigil_core.kinds import HttpSettings, decode
from vigil_worker.checks import CheckContext, conditions, run_check

from ..faults.certs import make_certs
from .conftest import Servers
from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)

DOC = {
    "status": "degraded",
    "count": 7,
    "ratio": 0.5,
    "flag": True,
    "none": None,
    "name": "vigil-api",
    "version": "2.14.1",
    "tags": ["eu", "prod"],
    "items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}],
    "nested": {"deep": {"value": "x"}},
    "long": "y" * 500,
}
BIG_JSON = json.dumps(["z" * 1000] * 1500).encode()  # 1.5 MB: over the 1 MiB body cap
# The body a pattern with nested quantifiers makes a backtracking engine take forever on.
ATTACK = b"a" * 100_000 + b"b"
STALLING = b"x" * 20_000 + b"build 1234" + b"y" * 40_000
SPANNING = b"begin" + b"a" * 100_000 + b"end"  # one match over several 16 KiB pieces


def _bodies() -> dict[str, tuple[bytes, dict[str, str]]]:
    doc = json.dumps(DOC).encode()
    as_json = {"Content-Type": "application/json"}
    return {
        "doc": (doc, as_json),
        "gzip": (gzip.compress(doc), {**as_json, "Content-Encoding": "gzip"}),
        "br": (brotli.compress(doc), {**as_json, "Content-Encoding": "br"}),
        "bad-gzip": (b"\x1f\x8b\x08\x00garbage", {**as_json, "Content-Encoding": "gzip"}),
        "text": (b"<html>not json</html>", {}),
        "trailing": (doc + b" trailing", as_json),
        "not-utf8": (b'{"status": "\xff"}', as_json),
        "empty": (b"", as_json),
        "deep": (b"[" * 200_000 + b"]" * 200_000, as_json),
        "big-json": (BIG_JSON, as_json),
        "attack": (ATTACK, {}),
        "spanning": (SPANNING, {}),
        "page": (b"<html><title>Vigil</title> status: up, build 1234</html>", {}),
    }


@pytest.fixture(scope="module")
async def bodies() -> AsyncIterator[str]:
    """http://127.0.0.1:PORT serving /NAME for each body above, with its headers."""
    table = _bodies()
    release = asyncio.Event()

    async def serve(request: web.Request) -> web.Response:
        body, headers = table[request.match_info["name"]]
        return web.Response(body=body, headers=headers)

    async def stalls(request: web.Request) -> web.StreamResponse:
        # A long body with the match early on, then nothing more: only a check that stops
        # reading once it has its answer ends before its deadline.
        resp = web.StreamResponse(headers={"Content-Length": str(10 * len(STALLING))})
        await resp.prepare(request)
        await resp.write(STALLING)
        try:
            await asyncio.wait_for(release.wait(), 30)
        except (TimeoutError, ConnectionResetError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/stalls", stalls)
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    release.set()
    await runner.cleanup()


def cond(path: str, op: str, value: object = None) -> dict[str, object]:
    return {"path": path, "op": op, "value": value}


# (id, conditions on DOC, error_class, the message, exactly, when one is expected)
JSON_CASES = [
    ("eq-string", [cond("status", "==", "degraded")], None, None),
    ("eq-fails", [cond("status", "==", "ok")], "json", 'json: status == "ok" but was "degraded"'),
    ("ne", [cond("status", "!=", "ok")], None, None),
    ("ne-fails", [cond("count", "!=", 7)], "json", "json: count != 7 but was 7"),
    ("eq-int-float", [cond("count", "==", 7.0)], None, None),
    ("eq-bool-is-not-1", [cond("flag", "==", 1)], "json", "json: flag == 1 but was true"),
    ("eq-string-is-not-number", [cond("count", "==", "7")], "json", 'json: count == "7" but was 7'),
    ("eq-null", [cond("none", "==", None)], None, None),
    ("eq-object", [cond("nested.deep", "==", {"value": "x"})], None, None),
    ("eq-array", [cond("tags", "==", ["eu", "prod"])], None, None),
    ("eq-array-order", [cond("tags", "==", ["prod", "eu"])], "json", None),
    ("lt", [cond("ratio", "<", 0.75)], None, None),
    ("lt-fails", [cond("count", "<", 7)], "json", "json: count < 7 but was 7"),
    ("le", [cond("count", "<=", 7)], None, None),
    ("gt", [cond("count", ">", 6.5)], None, None),
    ("gt-fails", [cond("ratio", ">", 1)], "json", "json: ratio > 1 but was 0.5"),
    ("ge", [cond("count", ">=", 7)], None, None),
    ("ge-strings", [cond("version", ">=", "2.1")], None, None),
    (
        "lt-type-mismatch",
        [cond("count", "<", "10")],
        "json",
        'json: count < "10" but was 7 (a number, not a string)',
    ),
    (
        "gt-on-missing",
        [cond("nope", ">", 1)],
        "json",
        "json: nope > 1 but was null (a null, not a number)",
    ),
    (
        "gt-bool-is-not-number",
        [cond("flag", ">", 0)],
        "json",
        "json: flag > 0 but was true (a boolean, not a number)",
    ),
    (
        "gt-against-array",
        [cond("count", ">", [1])],
        "json",
        "json: count > [1] but was 7 (> compares numbers with numbers or strings with strings)",
    ),
    ("contains-substring", [cond("name", "contains", "api")], None, None),
    ("contains-in-array", [cond("tags", "contains", "prod")], None, None),
    ("contains-object", [cond("items", "contains", {"id": 2, "ok": False})], None, None),
    (
        "contains-fails",
        [cond("tags", "contains", "us")],
        "json",
        'json: tags contains "us" but was ["eu","prod"]',
    ),
    (
        "contains-on-number",
        [cond("count", "contains", 7)],
        "json",
        "json: count contains 7 but was 7 (a number: contains looks into a string or an array)",
    ),
    ("exists-nested", [cond("nested.deep.value", "exists")], None, None),
    ("exists-false-value", [cond("items[1].ok", "exists")], None, None),
    ("exists-missing", [cond("nested.gone.value", "exists")], "json", None),
    ("exists-null", [cond("none", "exists")], "json", "json: none exists but was null"),
    ("not-exists", [cond("error", "not_exists")], None, None),
    ("not-exists-fails", [cond("count", "not_exists")], "json", "json: count not_exists but was 7"),
    ("array-index", [cond("items[0].id", "==", 1)], None, None),
    ("array-negative-index", [cond("items[-1].ok", "==", False)], None, None),
    ("array-filter", [cond("items[?ok].id", "==", [1])], None, None),
    ("array-length", [cond("length(items)", "==", 2)], None, None),
    ("array-out-of-range", [cond("items[5].id", "exists")], "json", None),
    ("matches", [cond("version", "matches", r"^2\.\d+\.\d+$")], None, None),
    (
        "matches-fails",
        [cond("version", "matches", "^3")],
        "json",
        'json: version matches "^3" but was "2.14.1"',
    ),
    (
        "matches-on-number",
        [cond("count", "matches", "7")],
        "json",
        'json: count matches "7" but was 7 (a number: matches tests strings)',
    ),
    (
        "first-failing-named",
        [cond("count", "==", 7), cond("tags", "contains", "x"), cond("status", "==", "ok")],
        "json",
        'json: tags contains "x" but was ["eu","prod"]',
    ),
    (
        "jmespath-type-error",
        [cond("length(count)", ">", 1)],
        "json",
        None,  # jmespath's own words, after "json: length(count) > 1 cannot be evaluated:"
    ),
    ("invalid-path", [cond("items[", "exists")], "json", None),
    ("invalid-pattern", [cond("name", "matches", "(")], "json", None),
    ("lookbehind-rejected", [cond("name", "matches", "(?<=v)igil")], "json", None),
]


@pytest.mark.parametrize(
    "conds, error_class, message",
    [c[1:] for c in JSON_CASES],
    ids=[c[0] for c in JSON_CASES],
)
async def test_json_conditions(bodies: str, ctx: CheckContext, conds, error_class, message) -> None:
    outcome = await run_check(target("http", bodies + "/doc", 5, json=conds), ctx)
    assert (outcome.ok, outcome.error_class) == (error_class is None, error_class), (
        outcome.error_message
    )
    if message is not None:
        assert outcome.error_message == message
    if error_class is not None:
        assert outcome.status_code == 200  # the answer's facts stay on the failure
        assert outcome.error_message.startswith("json: ")


async def test_a_failed_condition_shows_a_truncated_value(bodies: str, ctx: CheckContext) -> None:
    outcome = await run_check(
        target("http", bodies + "/doc", 5, json=[cond("long", "==", "")]), ctx
    )
    assert outcome.error_class == "json"
    assert outcome.error_message.startswith('json: long == "" but was "yyy')
    assert outcome.error_message.endswith("…") and len(outcome.error_message) < 140


async def test_an_unevaluable_path_names_itself(bodies: str, ctx: CheckContext) -> None:
    conds = [cond("length(count)", ">", 1)]
    outcome = await run_check(target("http", bodies + "/doc", 5, json=conds), ctx)
    assert outcome.error_message.startswith("json: length(count) > 1 cannot be evaluated: ")
    assert "length()" in outcome.error_message


# (id, body, settings, ok, error_class, text in the message)
BODY_CASES = [
    ("gzip-json", "gzip", {"json": [cond("count", "==", 7)]}, True, None, None),
    ("br-json", "br", {"json": [cond("items[0].ok", "==", True)]}, True, None, None),
    ("bad-gzip", "bad-gzip", {"json": [cond("a", "exists")]}, False, "decode", "gzip"),
    ("text", "text", {"json": [cond("a", "exists")]}, False, "json", "the body is not JSON"),
    ("trailing", "trailing", {"json": [cond("a", "exists")]}, False, "json", "trailing"),
    ("not-utf8", "not-utf8", {"json": [cond("a", "exists")]}, False, "json", "not UTF-8"),
    ("empty", "empty", {"json": [cond("a", "exists")]}, False, "json", "it is empty"),
    ("deep", "deep", {"json": [cond("a", "exists")]}, False, "json", "nested too deeply"),
    (
        "over-the-cap",
        "big-json",
        {"json": [cond("[0]", "exists")]},
        False,
        "body_too_large",
        "the JSON conditions need all of it",
    ),
    (
        "with-keywords",
        "doc",
        {"keyword": "vigil-api", "keyword_absent": "panic", "json": [cond("count", ">", 1)]},
        True,
        None,
        None,
    ),
    (
        "keyword-fails-first",
        "doc",
        {"keyword_absent": "degraded", "json": [cond("status", "==", "ok")]},
        False,
        "keyword",
        "unwanted keyword 'degraded' found",
    ),
    # regular expressions as keywords
    ("regex-match", "page", {"keyword": r"build \d{4}", "keyword_regex": True}, True, None, None),
    (
        "regex-not-found",
        "page",
        {"keyword": r"build \d{5}", "keyword_regex": True},
        False,
        "keyword",
        r"keyword pattern 'build \\d{5}' not found",
    ),
    (
        "regex-absent",
        "page",
        {"keyword_absent": "(?i)status: *down", "keyword_regex": True},
        True,
        None,
        None,
    ),
    (
        "regex-absent-found",
        "page",
        {"keyword_absent": "(?i)STATUS: *UP", "keyword_regex": True},
        False,
        "keyword",
        "unwanted keyword pattern '(?i)STATUS: *UP' found",
    ),
    (
        "regex-anchors-are-the-body",
        "page",
        {"keyword": "^<html>.*</html>$", "keyword_regex": True},
        True,
        None,
        None,
    ),
    ("regex-gzip", "gzip", {"keyword": r'"count": \d+', "keyword_regex": True}, True, None, None),
    # one match of 100 kB: it spans several decoded pieces, whatever the network's chunks
    (
        "regex-spanning",
        "spanning",
        {"keyword": "^begina+end$", "keyword_regex": True},
        True,
        None,
        None,
    ),
    (
        "regex-spanning-absent",
        "spanning",
        {"keyword_absent": "begina+end", "keyword_regex": True},
        False,
        "keyword",
        None,
    ),
    # the same text, not as a pattern: the dot and the plus are themselves
    (
        "plain-is-not-regex",
        "page",
        {"keyword": "build .+"},
        False,
        "keyword",
        "keyword 'build .+' not found",
    ),
    (
        "regex-invalid",
        "page",
        {"keyword": "build (", "keyword_regex": True},
        False,
        "keyword",
        "not a regular expression RE2 accepts",
    ),
    (
        "regex-backreference-rejected",
        "page",
        {"keyword": r"(a)\1", "keyword_regex": True},
        False,
        "keyword",
        "not a regular expression RE2 accepts",
    ),
]


@pytest.mark.parametrize(
    "body, settings, ok, error_class, text",
    [c[1:] for c in BODY_CASES],
    ids=[c[0] for c in BODY_CASES],
)
async def test_body_rules(
    bodies: str, ctx: CheckContext, body, settings, ok, error_class, text
) -> None:
    outcome = await run_check(target("http", f"{bodies}/{body}", 5, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    if text is not None:
        assert text in outcome.error_message


@pytest.mark.parametrize(
    "settings",
    [{"keyword": "(a+)+$"}, {"keyword_absent": "(a+)+$"}, {"keyword": "(a|aa)*c"}],
    ids=["present", "absent", "alternation"],
)
async def test_a_backtracking_pattern_runs_in_linear_time(
    bodies: str, ctx: CheckContext, settings
) -> None:
    # Python's re takes longer than the age of the universe on this; RE2 a few milliseconds.
    started = time.perf_counter()
    outcome = await run_check(
        target("http", bodies + "/attack", 5, keyword_regex=True, **settings), ctx
    )
    assert time.perf_counter() - started < 2
    if "keyword" in settings:
        assert outcome.error_class == "keyword", outcome.error_message
    else:
        assert outcome.ok, outcome.error_message  # "(a+)+$" needs an a right before the end


# (id, settings, ok, error_class) on a body that stalls after 60 kB
STALLING_CASES = [
    ("plain-keyword", {"keyword": "build 1234"}, True, None),
    ("regex-keyword", {"keyword": r"build \d+", "keyword_regex": True}, True, None),
    (
        "regex-keyword-absent",
        {"keyword_absent": r"build \d+", "keyword_regex": True},
        False,
        "keyword",
    ),
    # JSON needs the body's end, which never comes
    ("json", {"json": [cond("a", "exists")]}, False, "timeout"),
]


@pytest.mark.parametrize(
    "settings, ok, error_class", [c[1:] for c in STALLING_CASES], ids=[c[0] for c in STALLING_CASES]
)
async def test_the_read_stops_once_the_rules_are_decided(
    bodies: str, ctx: CheckContext, settings, ok, error_class
) -> None:
    outcome = await run_check(target("http", bodies + "/stalls", 2, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message


# (id, settings, ok, error_class): the endless 1 GiB body of the shared servers
ENDLESS_CASES = [
    ("regex-found", {"keyword": "x{1000}", "keyword_regex": True}, True, None),
    (
        "regex-never-found",
        {"keyword": "needle|haystack", "keyword_regex": True},
        False,
        "body_too_large",
    ),
    (
        "regex-absent-cannot-tell",
        {"keyword_absent": "needle", "keyword_regex": True},
        False,
        "body_too_large",
    ),
    ("json", {"json": [cond("a", "exists")]}, False, "body_too_large"),
]


@pytest.mark.parametrize(
    "settings, ok, error_class", [c[1:] for c in ENDLESS_CASES], ids=[c[0] for c in ENDLESS_CASES]
)
async def test_an_endless_body_is_read_up_to_the_cap(
    servers: Servers, ctx: CheckContext, settings, ok, error_class
) -> None:
    started = time.perf_counter()
    outcome = await run_check(target("http", servers.http + "/big", 10, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    assert time.perf_counter() - started < 3  # 1 GiB was not downloaded


def test_conditions_compile_once_per_target_not_per_check() -> None:
    stored = {"json": [cond("items[?ok].id", "contains", 1), cond("name", "matches", "^v")]}
    first, second = decode("http", stored), decode("http", json.loads(json.dumps(stored)))
    assert isinstance(first, HttpSettings) and isinstance(second, HttpSettings)
    assert first is not second  # two claims decode two structs
    assert conditions.compiled(first.json) is conditions.compiled(second.json)
    # JSON's 1 and true are different values, though Python's are equal and hash alike
    one = decode("http", {"json": [cond("a", "==", 1)]})
    true = decode("http", {"json": [cond("a", "==", True)]})
    assert isinstance(one, HttpSettings) and isinstance(true, HttpSettings)
    assert conditions.compiled(one.json) is not conditions.compiled(true.json)
    assert conditions.compiled(true.json).failure(msgspec.json.encode({"a": 1})) is not None


# -- tls_min_days_valid -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def leaves(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, str]]:
    """An HTTPS server per leaf of tests/faults/certs.py: "good" ends in 7 days, "expired"
    ended yesterday. {"good": "https://127.0.0.1:PORT", ...}"""
    certs = make_certs(tmp_path_factory.mktemp("leaves"))

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello over tls")

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/503", unavailable)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    urls = {}
    for name in ("good", "expired"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certs.pair(name))
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        urls[name] = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield urls
    await runner.cleanup()


IN_A_WEEK = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
YESTERDAY = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)

# (id, server, path, min days, ok, error_class, text in the message)
EXPIRY_CASES = [
    ("enough-days", "good", "/ok", 3, True, None, None),
    ("six-of-seven-days", "good", "/ok", 6, True, None, None),
    ("expiring", "good", "/ok", 14, False, "expiring", f"in 6 days ({IN_A_WEEK:%Y-%m-%dT}"),
    ("expired", "expired", "/ok", 1, False, "expiring", f"({YESTERDAY:%Y-%m-%dT}"),
    # a failure stays the failure it was
    ("failure-stays", "good", "/503", 14, False, "status", "unexpected status 503"),
]


@pytest.mark.parametrize(
    "server, path, min_days, ok, error_class, text",
    [c[1:] for c in EXPIRY_CASES],
    ids=[c[0] for c in EXPIRY_CASES],
)
async def test_tls_min_days_valid(
    leaves: dict[str, str], ctx: CheckContext, server, path, min_days, ok, error_class, text
) -> None:
    # Unverified: the leaves' CA is not in the worker's trust store; the expiry is read anyway.
    settings = {"verify_tls": False, "tls_min_days_valid": min_days}
    outcome = await run_check(target("http", leaves[server] + path, 5, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    if text is not None:
        assert text in outcome.error_message
    assert outcome.tls_expires_at is not None and outcome.timings["tls"] > 0
    if error_class == "expiring":
        assert outcome.status_code == 200 and outcome.latency_ms == outcome.timings["total"]
        assert outcome.error_message.startswith("certificate for 127.0.0.1 expire")


async def test_tls_min_days_valid_on_plain_http_has_nothing_to_judge(
    servers: Servers, ctx: CheckContext
) -> None:
    outcome = await run_check(target("http", servers.http + "/ok", tls_min_days_valid=90), ctx)
    assert outcome.ok and outcome.tls_expires_at is None


async def test_the_shared_servers_certificate(servers: Servers, ctx: CheckContext) -> None:
    # 42 days long (tests/worker/conftest.py): enough for 30, not for 60
    for min_days, ok in ((30, True), (60, False)):
        settings = {"verify_tls": False, "tls_min_days_valid": min_days}
        outcome = await run_check(target("http", servers.https + "/ok", 5, **settings), ctx)
        assert outcome.ok is ok, outcome.error_message
        if not ok:
            assert outcome.error_class == "expiring"
            assert f"({servers.cert_not_after:%Y-%m-%dT%H:%M:%SZ})" in outcome.error_message
