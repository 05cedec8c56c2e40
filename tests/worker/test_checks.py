"""Each check kind against real loopback servers: verdicts, error classes, timings, deadlines."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver

from vigil_worker.checks import CheckContext, ClaimedTarget, run_check
from vigil_worker.checks.http import new_session
from vigil_worker.checks.icmp import Pinger

from .conftest import Servers

NOW = dt.datetime.now(dt.timezone.utc)


def target(kind: str, address: str, timeout_s: float = 2.0, **settings: object) -> ClaimedTarget:
    return ClaimedTarget(id=1, name="t", kind=kind, address=address, interval_s=60,
                         timeout_s=timeout_s, settings=dict(settings), anchor_at=NOW, due_at=NOW)


@pytest.fixture
async def ctx() -> AsyncIterator[CheckContext]:
    pinger = Pinger()
    async with new_session() as http:
        yield CheckContext(http=http, pinger=pinger, http_body_cap_bytes=1 << 20)
    pinger.close()


# (id, address from the servers, timeout, settings, ok, error_class, status_code)
HTTP_CASES = [
    ("ok", lambda s: s.http + "/ok", 2, {}, True, None, 200),
    ("slow-within-timeout", lambda s: s.http + "/slow?delay=0.3", 2, {}, True, None, 200),
    ("slow-past-timeout", lambda s: s.http + "/slow?delay=3", 0.3, {}, False, "timeout", None),
    ("hangs-after-accept", lambda s: s.hang + "/", 0.3, {}, False, "timeout", None),
    ("wrong-status", lambda s: s.http + "/status/503", 2, {}, False, "status", 503),
    ("expected-status-code", lambda s: s.http + "/status/503", 2,
     {"expected_status": [503]}, True, None, 503),
    ("expected-status-class", lambda s: s.http + "/status/404", 2,
     {"expected_status": ["4xx"]}, True, None, 404),
    ("status-not-in-class", lambda s: s.http + "/ok", 2,
     {"expected_status": ["4xx", 500]}, False, "status", 200),
    ("keyword-present", lambda s: s.http + "/ok", 2, {"keyword": "hello"}, True, None, 200),
    ("keyword-missing", lambda s: s.http + "/ok", 2, {"keyword": "goodbye"}, False, "keyword", 200),
    ("keyword-absent-found", lambda s: s.http + "/ok", 2,
     {"keyword_absent": "hello"}, False, "keyword", 200),
    ("keyword-absent-ok", lambda s: s.http + "/ok", 2, {"keyword_absent": "error"}, True, None, 200),
    ("redirect-loop", lambda s: s.http + "/loop", 2,
     {"max_redirects": 3}, False, "too_many_redirects", 302),
    ("redirect-not-followed", lambda s: s.http + "/loop", 2,
     {"follow_redirects": False}, True, None, 302),
    ("redirect-followed", lambda s: s.http + "/once", 2, {}, True, None, 200),
    ("method-and-headers", lambda s: s.http + "/echo", 2,
     {"method": "POST", "headers": {"X-Vigil": "yes"}, "keyword": '"method": "POST", "x_vigil": "yes"'},
     True, None, 200),
    ("refused", lambda s: "http://" + s.refused + "/", 2, {}, False, "refused", None),
    ("tls-self-signed-verified", lambda s: s.https + "/ok", 2, {}, False, "tls", None),
    ("tls-unverified", lambda s: s.https + "/ok", 2, {"verify_tls": False}, True, None, 200),
    ("big-body-not-inspected", lambda s: s.http + "/big", 5, {}, True, None, 200),
    ("big-body-keyword", lambda s: s.http + "/big", 5,
     {"keyword": "needle"}, False, "body_too_large", 200),
]


@pytest.mark.parametrize("address, timeout, settings, ok, error_class, status",
                         [c[1:] for c in HTTP_CASES], ids=[c[0] for c in HTTP_CASES])
async def test_http(servers: Servers, ctx: CheckContext, address, timeout, settings, ok,
                    error_class, status) -> None:
    started = time.perf_counter()
    outcome = await run_check(target("http", address(servers), timeout, **settings), ctx)
    elapsed = time.perf_counter() - started
    assert (outcome.ok, outcome.error_class, outcome.status_code) == (ok, error_class, status), \
        outcome.error_message
    assert elapsed < timeout + 1.0  # the deadline holds
    if ok:
        assert outcome.timings["connect"] >= 0 and outcome.timings["ttfb"] <= outcome.timings["total"]
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
    """Answers from a table, as /etc/hosts does; other names fail as NXDOMAIN would."""

    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts, self.asked = hosts, []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        self.asked.append(host)
        if host not in self.hosts:
            raise OSError(socket.EAI_NONAME, f"{host} does not exist")
        return [{"hostname": host, "host": self.hosts[host], "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


async def test_http_session_resolves_through_the_given_resolver(servers: Servers,
                                                                ctx: CheckContext) -> None:
    port = servers.http.rsplit(":", 1)[1]
    resolver = HostsResolver({"app.vigil.test": "127.0.0.1"})
    async with new_session(resolver=resolver) as http:
        with_resolver = CheckContext(http=http, pinger=ctx.pinger)
        first = await run_check(target("http", f"http://app.vigil.test:{port}/ok"), with_resolver)
        # two hops (/once redirects to /ok), both answered from the DNS cache (ttl_dns_cache)
        second = await run_check(target("http", f"http://app.vigil.test:{port}/once"), with_resolver)
        missing = await run_check(target("http", f"http://gone.vigil.test:{port}/ok"), with_resolver)
    assert first.ok and first.timings["dns"] >= 0 and first.timings["connect"] >= 0, first
    assert second.ok and second.status_code == 200, second.error_message
    assert second.timings["ttfb"] <= second.timings["total"] and "dns" not in second.timings
    assert missing.error_class == "dns" and "gone.vigil.test" in missing.error_message
    assert resolver.asked == ["app.vigil.test", "gone.vigil.test"]


TCP_CASES = [
    ("listening", "listening", True, None),
    ("refused", "refused", False, "refused"),
]


@pytest.mark.parametrize("which, ok, error_class", [c[1:] for c in TCP_CASES],
                         ids=[c[0] for c in TCP_CASES])
async def test_tcp(servers: Servers, ctx: CheckContext, which, ok, error_class) -> None:
    outcome = await run_check(target("tcp", getattr(servers, which)), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    if ok:
        assert outcome.timings["connect"] >= 0


async def test_tcp_hang_is_ok_once_connected(servers: Servers, ctx: CheckContext) -> None:
    # a TCP check only needs the handshake; a server that never speaks is up
    outcome = await run_check(target("tcp", servers.hang.removeprefix("http://"), 0.5), ctx)
    assert outcome.ok


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
    assert ctx.pinger.in_flight == 0  # every waiter was resolved and removed
