"""Each check kind against real loopback servers: verdicts, error classes, timings, deadlines."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver

from vigil_core import kinds
from vigil_core.kinds import HttpSettings
from vigil_worker import checks
from vigil_worker.checks import CheckContext, ClaimedTarget, icmp, run_check
from vigil_worker.checks.http import KIND as HTTP
from vigil_worker.checks.http import new_session

from .conftest import Servers

NOW = dt.datetime.now(dt.UTC)


def target(kind: str, address: str, timeout_s: float = 2.0, **settings: object) -> ClaimedTarget:
    """The target as the worker claims it, with `settings` as they are stored in its row."""
    return ClaimedTarget.from_row(
        {
            "id": 1,
            "name": "t",
            "kind": kind,
            "address": address,
            "interval_s": 60,
            "timeout_s": timeout_s,
            "settings": settings,
            "anchor_at": NOW,
            "due_at": NOW,
        }
    )


@pytest.fixture
async def ctx() -> AsyncIterator[CheckContext]:
    """The checks' context as a worker with default settings starts it."""
    async with checks.running() as started:
        yield started


# (id, address from the servers, timeout, settings, ok, error_class, status_code)
HTTP_CASES = [
    ("ok", lambda s: s.http + "/ok", 2, {}, True, None, 200),
    ("slow-within-timeout", lambda s: s.http + "/slow?delay=0.3", 2, {}, True, None, 200),
    ("slow-past-timeout", lambda s: s.http + "/slow?delay=3", 0.3, {}, False, "timeout", None),
    ("hangs-after-accept", lambda s: s.hang + "/", 0.3, {}, False, "timeout", None),
    ("wrong-status", lambda s: s.http + "/status/503", 2, {}, False, "status", 503),
    (
        "expected-status-code",
        lambda s: s.http + "/status/503",
        2,
        {"expected_status": [503]},
        True,
        None,
        503,
    ),
    (
        "expected-status-class",
        lambda s: s.http + "/status/404",
        2,
        {"expected_status": ["4xx"]},
        True,
        None,
        404,
    ),
    (
        "status-not-in-class",
        lambda s: s.http + "/ok",
        2,
        {"expected_status": ["4xx", 500]},
        False,
        "status",
        200,
    ),
    ("keyword-present", lambda s: s.http + "/ok", 2, {"keyword": "hello"}, True, None, 200),
    ("keyword-missing", lambda s: s.http + "/ok", 2, {"keyword": "goodbye"}, False, "keyword", 200),
    (
        "keyword-absent-found",
        lambda s: s.http + "/ok",
        2,
        {"keyword_absent": "hello"},
        False,
        "keyword",
        200,
    ),
    (
        "keyword-absent-ok",
        lambda s: s.http + "/ok",
        2,
        {"keyword_absent": "error"},
        True,
        None,
        200,
    ),
    (
        "redirect-loop",
        lambda s: s.http + "/loop",
        2,
        {"max_redirects": 3},
        False,
        "too_many_redirects",
        302,
    ),
    (
        "redirect-not-followed",
        lambda s: s.http + "/loop",
        2,
        {"follow_redirects": False},
        True,
        None,
        302,
    ),
    ("redirect-followed", lambda s: s.http + "/once", 2, {}, True, None, 200),
    (
        "method-and-headers",
        lambda s: s.http + "/echo",
        2,
        {
            "method": "POST",
            "headers": {"X-Vigil": "yes"},
            "keyword": '"method": "POST", "x_vigil": "yes"',
        },
        True,
        None,
        200,
    ),
    ("refused", lambda s: "http://" + s.refused + "/", 2, {}, False, "refused", None),
    ("tls-self-signed-verified", lambda s: s.https + "/ok", 2, {}, False, "tls", None),
    ("tls-unverified", lambda s: s.https + "/ok", 2, {"verify_tls": False}, True, None, 200),
    ("big-body-not-inspected", lambda s: s.http + "/big", 5, {}, True, None, 200),
    (
        "big-body-keyword",
        lambda s: s.http + "/big",
        5,
        {"keyword": "needle"},
        False,
        "body_too_large",
        200,
    ),
]


@pytest.mark.parametrize(
    "address, timeout, settings, ok, error_class, status",
    [c[1:] for c in HTTP_CASES],
    ids=[c[0] for c in HTTP_CASES],
)
async def test_http(
    servers: Servers, ctx: CheckContext, address, timeout, settings, ok, error_class, status
) -> None:
    started = time.perf_counter()
    outcome = await run_check(target("http", address(servers), timeout, **settings), ctx)
    elapsed = time.perf_counter() - started
    assert (outcome.ok, outcome.error_class, outcome.status_code) == (ok, error_class, status), (
        outcome.error_message
    )
    assert elapsed < timeout + 1.0  # the deadline holds
    if ok:
        assert (
            outcome.timings["connect"] >= 0 and outcome.timings["ttfb"] <= outcome.timings["total"]
        )
        assert outcome.latency_ms == outcome.timings["total"]


async def test_http_slow_latency_and_phases(servers: Servers, ctx: CheckContext) -> None:
    outcome = await run_check(target("http", servers.http + "/slow?delay=0.25"), ctx)
    assert outcome.ok
    assert outcome.timings["ttfb"] >= 250 and outcome.latency_ms >= 250
    assert outcome.timings["connect"] < 250  # the wait is the server's, not the connect


async def test_http_tls_expiry_and_handshake_time(servers: Servers, ctx: CheckContext) -> None:
    outcome = await run_check(target("http", servers.https + "/ok", verify_tls=False), ctx)
    assert outcome.ok, outcome.error_message
    assert outcome.tls_expires_at == servers.cert_not_after
    assert outcome.timings["tls"] > 0 and "connect" in outcome.timings


async def test_http_big_body_is_streamed_not_read(servers: Servers, ctx: CheckContext) -> None:
    started = time.perf_counter()
    outcome = await run_check(target("http", servers.http + "/big", 10, keyword="needle"), ctx)
    assert outcome.error_class == "body_too_large"
    assert time.perf_counter() - started < 3  # 1 GiB was not downloaded
    assert "1048576" in outcome.error_message


async def test_http_fresh_connection_each_check(servers: Servers, ctx: CheckContext) -> None:
    first = await run_check(target("http", servers.http + "/ok"), ctx)
    second = await run_check(target("http", servers.http + "/ok"), ctx)
    # a connect phase both times: no pooled connection was reused
    assert "connect" in first.timings and "connect" in second.timings


class HostsResolver(AbstractResolver):
    """Answers from a table, as /etc/hosts does (a name may have several addresses); other
    names fail as NXDOMAIN would."""

    def __init__(self, hosts: dict[str, str | list[str]]) -> None:
        self.hosts, self.asked = hosts, []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        self.asked.append(host)
        if host not in self.hosts:
            raise OSError(socket.EAI_NONAME, f"{host} does not exist")
        found = self.hosts[host]
        return [
            {
                "hostname": host,
                "host": ip,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in ([found] if isinstance(found, str) else found)
        ]

    async def close(self) -> None:
        pass


async def test_http_session_resolves_through_the_given_resolver(
    servers: Servers, ctx: CheckContext
) -> None:
    port = servers.http.rsplit(":", 1)[1]
    resolver = HostsResolver({"app.vigil.test": "127.0.0.1"})
    async with new_session(resolver=resolver) as http:
        with_resolver = CheckContext(resources={HTTP.name: http})
        first = await run_check(target("http", f"http://app.vigil.test:{port}/ok"), with_resolver)
        # two hops (/once redirects to /ok), both answered from the DNS cache (ttl_dns_cache)
        second = await run_check(
            target("http", f"http://app.vigil.test:{port}/once"), with_resolver
        )
        missing = await run_check(
            target("http", f"http://gone.vigil.test:{port}/ok"), with_resolver
        )
    assert first.ok and first.timings["dns"] >= 0 and first.timings["connect"] >= 0, first
    assert second.ok and second.status_code == 200, second.error_message
    assert second.timings["ttfb"] <= second.timings["total"] and "dns" not in second.timings
    assert missing.error_class == "dns" and "gone.vigil.test" in missing.error_message
    assert resolver.asked == ["app.vigil.test", "gone.vigil.test"]


async def test_http_tries_every_address_of_a_name(servers: Servers) -> None:
    """A name with several addresses is connected as aiohttp does (the next address when one
    refuses; the worker's own connect takes only a lone address): one listening address is
    enough, and a name whose every address refuses is `refused`."""
    port = servers.http.rsplit(":", 1)[1]  # the server listens on 127.0.0.1 only
    resolver = HostsResolver(
        {
            "two.vigil.test": ["127.0.0.2", "127.0.0.1"],
            "none.vigil.test": ["127.0.0.2", "127.0.0.3"],
        }
    )
    async with new_session(resolver=resolver) as http:
        with_resolver = CheckContext(resources={HTTP.name: http})
        second_answers = await run_check(
            target("http", f"http://two.vigil.test:{port}/ok"), with_resolver
        )
        none_answer = await run_check(
            target("http", f"http://none.vigil.test:{port}/ok"), with_resolver
        )
    assert second_answers.ok and second_answers.status_code == 200, second_answers
    assert "connect" in second_answers.timings and "dns" in second_answers.timings
    assert none_answer.error_class == "refused", none_answer


TCP_CASES = [
    ("listening", "listening", True, None),
    ("refused", "refused", False, "refused"),
]


@pytest.mark.parametrize(
    "which, ok, error_class", [c[1:] for c in TCP_CASES], ids=[c[0] for c in TCP_CASES]
)
async def test_tcp(servers: Servers, ctx: CheckContext, which, ok, error_class) -> None:
    outcome = await run_check(target("tcp", getattr(servers, which)), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    if ok:
        assert outcome.timings["connect"] >= 0


async def test_tcp_hang_is_ok_once_connected(servers: Servers, ctx: CheckContext) -> None:
    # a TCP check only needs the handshake; a server that never speaks is up
    outcome = await run_check(target("tcp", servers.hang.removeprefix("http://"), 0.5), ctx)
    assert outcome.ok


@pytest.mark.parametrize("kind, address", [("tcp", "{}:{}"), ("http", "http://{}:{}/")])
async def test_handshake_never_answered_is_a_timeout_and_leaks_no_socket(
    ctx: CheckContext, kind: str, address: str
) -> None:
    """A listener whose backlog is full drops the SYN: the connect waits until the deadline,
    the check is a `timeout`, and the socket it waited on is closed (no fd left behind)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        host, port = listener.getsockname()
        with socket.create_connection((host, port), timeout=2):  # fills the backlog
            fds = len(os.listdir("/proc/self/fd"))
            for _ in range(3):
                outcome = await run_check(target(kind, address.format(host, port), 0.2), ctx)
                assert outcome.error_class == "timeout", outcome
            assert len(os.listdir("/proc/self/fd")) == fds
        listener.accept()[0].close()  # the backlog frees
        # The loop watches none of the closed sockets any more: the next check connects.
        assert (await run_check(target("tcp", f"{host}:{port}", 2.0), ctx)).ok


async def test_the_deadline_is_a_timeout_and_leaves_the_task_uncancelled(
    servers: Servers, ctx: CheckContext
) -> None:
    """run_check's deadline cancels the check, reports `timeout`, and takes its cancellation
    back: the task that ran it goes on (the runner still stores the result)."""

    async def in_a_task() -> tuple[str | None, int]:
        outcome = await run_check(target("http", servers.hang + "/", 0.2), ctx)
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # a cancellation left pending would be raised here
        return outcome.error_class, task.cancelling()

    assert await asyncio.wait_for(asyncio.create_task(in_a_task()), 10) == ("timeout", 0)


async def test_a_check_that_ends_in_time_is_not_cancelled_later(
    servers: Servers, ctx: CheckContext
) -> None:
    """The deadline's timer goes with the check: once past it, the task is not cancelled."""
    loop = asyncio.get_running_loop()

    # Generous: with 0.3 s a busy CI machine once failed the check itself (2026-12-04).
    timeout_s = 1.5

    async def in_a_task() -> tuple[bool, str | None]:
        started = loop.time()
        outcome = await run_check(target("http", servers.http + "/ok", timeout_s), ctx)
        past_the_deadline = asyncio.Event()
        loop.call_at(started + timeout_s + 0.2, past_the_deadline.set)
        await past_the_deadline.wait()  # a timer left behind would cancel the task here
        return outcome.ok, outcome.error_message

    assert await asyncio.wait_for(asyncio.create_task(in_a_task()), 10) == (True, None)


async def test_a_check_cancelled_from_outside_is_cancelled_not_a_timeout(
    servers: Servers, ctx: CheckContext
) -> None:
    """A worker that stops cancels its running checks: that is not a `timeout` result."""
    task = asyncio.create_task(run_check(target("http", servers.hang + "/", 5), ctx))
    asyncio.get_running_loop().call_later(0.2, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), 10)
    assert task.cancelled()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
async def test_icmp_loopback(ctx: CheckContext, host: str) -> None:
    outcome = await run_check(target("icmp", host), ctx)
    assert outcome.ok, outcome.error_message
    assert 0 <= outcome.latency_ms < 1000 and outcome.timings["rtt"] == outcome.latency_ms


async def test_icmp_1000_concurrent_no_false_timeouts(ctx: CheckContext) -> None:
    targets = [target("icmp", "127.0.0.1", timeout_s=3) for _ in range(1000)]
    for _round in range(2):
        outcomes = await asyncio.gather(*(run_check(t, ctx) for t in targets))
        failed = [o for o in outcomes if not o.ok]
        assert failed == [], f"{len(failed)} of 1000 failed, e.g. {failed[0]}"
    assert ctx.resource(icmp.KIND).in_flight == 0  # every waiter was resolved and removed


# -- the stored settings, read once per claim ----------------------------------------------

API_WRITES = {
    "method": "GET",
    "expected_status": ["2xx", "3xx"],
    "headers": {},
    "verify_tls": True,
    "follow_redirects": True,
    "max_redirects": 10,
}


@pytest.mark.parametrize(
    "stored, expected",
    [
        pytest.param(API_WRITES, HttpSettings(), id="as-the-api-writes-them"),
        pytest.param({}, HttpSettings(), id="nothing-stored"),
        pytest.param(
            {"keyword": None, "expected_status": None, "max_redirects": 2},
            HttpSettings(max_redirects=2),
            id="nulls-take-defaults",
        ),
        pytest.param(
            {"method": "PUT", "body": "{}", "expected_status": [204, "3xx"]},
            HttpSettings(method="PUT", body="{}", expected_status=(204, "3xx")),
            id="body",
        ),
    ],
)
def test_stored_http_settings_decode(stored: dict, expected: HttpSettings) -> None:
    assert target("http", "http://127.0.0.1:9/", **stored).settings == expected


@pytest.mark.parametrize(
    "kind, stored, reason",
    [
        pytest.param("http", {"methd": "GET"}, "unknown field `methd`", id="unknown-field"),
        pytest.param(
            "http", {"max_redirects": "ten"}, "Expected `int`, got `str`", id="wrong-type"
        ),
        pytest.param("http", {"expected_status": []}, "length >= 1", id="no-status-expected"),
        pytest.param("tcp", {"keyword": "x"}, "unknown field `keyword`", id="tcp-has-none"),
    ],
)
async def test_settings_the_worker_cannot_read_are_unsupported(
    ctx: CheckContext, kind: str, stored: dict, reason: str
) -> None:
    outcome = await run_check(
        target(kind, "127.0.0.1:9" if kind == "tcp" else "http://127.0.0.1:9/", **stored), ctx
    )
    assert (outcome.ok, outcome.error_class) == (False, "unsupported")
    assert reason in outcome.error_message


def test_the_next_slot_is_the_same_target_at_another_due_time() -> None:
    first = target("http", "http://127.0.0.1:9/", keyword="ok")
    later = first.at(NOW + dt.timedelta(seconds=60))
    assert (later.due_at, later.anchor_at, later.settings) == (
        NOW + dt.timedelta(seconds=60),
        NOW,
        first.settings,
    )
    assert first.due_at == NOW


def test_every_registered_kind_checks_the_struct_the_api_writes() -> None:
    """The worker decodes a row with vigil_core.kinds; run_check calls a check only with its
    own kind's struct. A mismatch would make every target of the kind `unsupported`."""
    assert {name: kind.settings for name, kind in checks.REGISTRY.items()} == kinds.SETTINGS
