"""The dns kind against a real loopback DNS server: each record type, lies, rcodes, silence, TCP."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from dnslib import QTYPE, RCODE, RR, DNSRecord

from vigil_core.settings import Settings
from vigil_worker import checks
from vigil_worker.checks import CheckContext, run_check

from ..dns_server import DnsServer as BaseDnsServer
from ..dns_server import Zone
from .conftest import add_target, running_worker, wait_for, worker_settings
from .test_checks import target

TXT_BIG = tuple(f'TXT "chunk {i:02d} {"x" * 60}"' for i in range(40))  # ~3 KiB: TCP only


@dataclass(frozen=True)
class RecordZone(Zone):
    """A zone that also answers other types: zone-file lines such as 'MX 10 mail.example.test.'."""

    records: tuple[str, ...] = ()


ZONES = (
    RecordZone("good.test", "answer", a=("127.0.0.1",)),
    RecordZone("two.test", "answer", a=("127.0.0.1", "127.0.0.2")),
    RecordZone("cached.test", "answer", a=("127.0.0.1",), ttl=3600),
    RecordZone("lies.test", "answer", a=("192.0.2.7", "192.0.2.8")),
    RecordZone("v6.test", "answer", aaaa=("0:0:0:0:0:0:0:1",)),
    RecordZone(
        "rich.test",
        "answer",
        records=(
            "MX 10 Mail.Rich.Test.",
            "MX 20 backup.rich.test.",
            'TXT "v=spf1 " "-all"',
            "NS ns1.rich.test.",
            "SOA ns1.rich.test. hostmaster.rich.test. 2024010101 3600 600 86400 300",
            'CAA 0 issue "ca.example"',
        ),
    ),
    RecordZone("www.alias.test", "answer", records=("CNAME Target.Rich.Test.",)),
    RecordZone("_sip._tcp.srv.test", "answer", records=("SRV 10 5 5060 sip.srv.test.",)),
    RecordZone("big.test", "answer", records=TXT_BIG),
    RecordZone("fail.test", "servfail"),
    RecordZone("refuse.test", "refused"),
    RecordZone("hole.test", "drop"),
)


class DnsServer(BaseDnsServer):
    """tests/dns_server.py's server with more record types, truncation and a TCP listener.

    A UDP answer larger than the client's buffer (512 bytes, or its EDNS size) goes out with the
    TC bit and no records, as real servers do; the same port answers over TCP in full.
    """

    def __init__(self, zones: Sequence[Zone]) -> None:
        super().__init__(zones)
        self.tcp_queries = 0

    def reply_to(self, data: bytes) -> DNSRecord | None:
        request = DNSRecord.parse(data)
        qname, qtype = str(request.q.qname), QTYPE[request.q.qtype]
        self.queries[(qname.rstrip(".").lower(), qtype)] += 1
        zone = self._zone(qname)
        if zone is not None and zone.action == "drop":
            return None
        reply = request.reply()
        if zone is None or zone.action == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        elif zone.action in ("servfail", "refused"):
            reply.header.rcode = getattr(RCODE, zone.action.upper())
        else:
            lines = [f"A {ip}" for ip in zone.a] + [f"AAAA {ip}" for ip in zone.aaaa]
            lines += getattr(zone, "records", ())
            for line in lines:
                rr = RR.fromZone(f"{qname} {zone.ttl} IN {line}")[0]
                if rr.rtype == request.q.qtype:
                    reply.add_answer(rr)
        return reply

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = self.reply_to(data)
        if reply is None:
            return
        request = DNSRecord.parse(data)
        limit = max([512] + [rr.rclass for rr in request.ar if rr.rtype == QTYPE.OPT])
        packed = reply.pack()
        if len(packed) > limit:
            reply.rr = []
            reply.header.tc = 1
            packed = reply.pack()
        assert self._transport is not None
        self._transport.sendto(packed, addr)

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                self.tcp_queries += 1
                reply = self.reply_to(await reader.readexactly(size))
                if reply is not None:
                    packed = reply.pack()
                    writer.write(struct.pack("!H", len(packed)) + packed)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def dns_server(host: str = "127.0.0.1") -> AsyncIterator[DnsServer]:
    """The server on one free port of `host`, over UDP and TCP."""
    server = DnsServer(ZONES)
    loop = asyncio.get_running_loop()
    for _ in range(20):  # a UDP port whose TCP twin is taken: try another
        transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=(host, 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            tcp = await asyncio.start_server(server.serve_tcp, host, port)
            break
        except OSError:
            transport.close()
    else:
        raise RuntimeError("no free UDP+TCP port pair on loopback")
    server.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        yield server
    finally:
        tcp.close()
        transport.close()


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
async def dns() -> AsyncIterator[DnsServer]:
    async with dns_server() as server:
        yield server


@pytest.fixture(scope="module")
async def ctx() -> AsyncIterator[CheckContext]:
    async with checks.running() as started:
        yield started


async def check(ctx: CheckContext, name: str, timeout_s: float = 5.0, **settings: object):
    return await run_check(target("dns", name, timeout_s, **settings), ctx)


# -- each record type, normalised ---------------------------------------------------------

# (id, name, record type, the answers as details hold them)
RECORDS = [
    ("a", "a.good.test", "A", ["127.0.0.1"]),
    ("a-two", "two.test", "A", ["127.0.0.1", "127.0.0.2"]),
    ("aaaa-canonical", "v6.test", "AAAA", ["::1"]),
    ("mx-lowercase-no-dot", "rich.test", "MX", ["10 mail.rich.test", "20 backup.rich.test"]),
    ("txt-strings-joined", "rich.test", "TXT", ["v=spf1 -all"]),
    ("ns", "rich.test", "NS", ["ns1.rich.test"]),
    (
        "soa",
        "rich.test",
        "SOA",
        ["ns1.rich.test hostmaster.rich.test 2024010101 3600 600 86400 300"],
    ),
    ("caa", "rich.test", "CAA", ['0 issue "ca.example"']),
    ("cname", "www.alias.test", "CNAME", ["target.rich.test"]),
    ("srv", "_sip._tcp.srv.test", "SRV", ["10 5 5060 sip.srv.test"]),
    ("nodata-is-noerror", "a.good.test", "MX", []),
]


@pytest.mark.parametrize(
    "name, rtype, answers", [c[1:] for c in RECORDS], ids=[c[0] for c in RECORDS]
)
async def test_answers_each_record_type(
    dns: DnsServer, ctx: CheckContext, name: str, rtype: str, answers: list[str]
) -> None:
    outcome = await check(ctx, name, record_type=rtype, server=dns.address)
    assert (outcome.ok, outcome.error_class, outcome.error_message) == (True, None, None)
    assert outcome.details == {
        "answers": answers,
        "rcode": "NOERROR",
        "server": dns.address,
        "record_type": rtype,
    }
    assert outcome.latency_ms is not None and 0 < outcome.latency_ms < 1000
    assert dns.queries[(name, rtype)] >= 1  # asked the given server, not the system's


# -- expected values and the three match modes --------------------------------------------

# (id, name, type, expected, match, ok); lies.test answers 192.0.2.7 and 192.0.2.8
MATCHES = [
    ("any-one-of-them", "lies.test", "A", ["192.0.2.8"], "any", True),
    ("any-lie", "lies.test", "A", ["192.0.2.1"], "any", False),
    ("any-one-of-two-expected", "lies.test", "A", ["192.0.2.1", "192.0.2.7"], "any", True),
    ("all-both", "lies.test", "A", ["192.0.2.8", "192.0.2.7"], "all", True),
    ("all-one-missing", "lies.test", "A", ["192.0.2.1", "192.0.2.7"], "all", False),
    ("all-lie", "lies.test", "A", ["192.0.2.1"], "all", False),
    ("exact-equal-sets", "lies.test", "A", ["192.0.2.7", "192.0.2.8"], "exact", True),
    ("exact-subset", "lies.test", "A", ["192.0.2.7"], "exact", False),
    ("exact-lie", "lies.test", "A", ["192.0.2.1"], "exact", False),
    ("expected-normalised-ip", "v6.test", "AAAA", ["0::1"], "exact", True),
    ("expected-normalised-mx", "rich.test", "MX", ["10  MAIL.rich.test."], "any", True),
    ("expected-txt-quoted", "rich.test", "TXT", ['"v=spf1 -all"'], "exact", True),
    ("expected-caa-unquoted", "rich.test", "CAA", ["0 ISSUE ca.example"], "exact", True),
    ("expected-but-nodata", "a.good.test", "MX", ["10 mail.good.test"], "any", False),
]


@pytest.mark.parametrize(
    "name, rtype, expected, match, ok", [c[1:] for c in MATCHES], ids=[c[0] for c in MATCHES]
)
async def test_expected_values(
    dns: DnsServer,
    ctx: CheckContext,
    name: str,
    rtype: str,
    expected: list[str],
    match: str,
    ok: bool,
) -> None:
    outcome = await check(
        ctx, name, record_type=rtype, server=dns.address, expected=expected, match=match
    )
    assert outcome.ok is ok
    if not ok:
        assert outcome.error_class == "mismatch"
        assert outcome.error_message is not None
        assert outcome.error_message.startswith(f"{rtype} {name}: expected ")
        assert outcome.details is not None and outcome.details["rcode"] == "NOERROR"


async def test_mismatch_message_names_both_sides(dns: DnsServer, ctx: CheckContext) -> None:
    outcome = await check(ctx, "lies.test", server=dns.address, expected=["192.0.2.1"])
    assert (outcome.ok, outcome.error_class) == (False, "mismatch")
    assert outcome.error_message == "A lies.test: expected 192.0.2.1, got 192.0.2.7, 192.0.2.8"
    assert outcome.details is not None
    assert outcome.details["answers"] == ["192.0.2.7", "192.0.2.8"]


# -- rcodes -------------------------------------------------------------------------------

# (id, name, expected_rcode, ok, error_class, rcode in details)
RCODES = [
    ("nxdomain", "nowhere.test", "NOERROR", False, "nxdomain", "NXDOMAIN"),
    ("servfail", "x.fail.test", "NOERROR", False, "servfail", "SERVFAIL"),
    ("refused", "x.refuse.test", "NOERROR", False, "refused", "REFUSED"),
    ("expected-nxdomain", "nowhere.test", "NXDOMAIN", True, None, "NXDOMAIN"),
    ("expected-servfail", "x.fail.test", "SERVFAIL", True, None, "SERVFAIL"),
    ("expected-nxdomain-but-exists", "a.good.test", "NXDOMAIN", False, "mismatch", "NOERROR"),
    ("expected-refused-but-nxdomain", "nowhere.test", "REFUSED", False, "nxdomain", "NXDOMAIN"),
]


@pytest.mark.parametrize(
    "name, rcode, ok, error_class, got", [c[1:] for c in RCODES], ids=[c[0] for c in RCODES]
)
async def test_rcodes(
    dns: DnsServer,
    ctx: CheckContext,
    name: str,
    rcode: str,
    ok: bool,
    error_class: str | None,
    got: str,
) -> None:
    started = time.perf_counter()
    outcome = await check(ctx, name, server=dns.address, expected_rcode=rcode)
    assert time.perf_counter() - started < 2  # an answer, not a wait for the deadline
    assert (outcome.ok, outcome.error_class) == (ok, error_class)
    assert outcome.details is not None and outcome.details["rcode"] == got
    if not ok:
        assert outcome.error_message is not None
        assert outcome.error_message.startswith(f"A {name} at {dns.address}: ")
        assert outcome.error_message.endswith(f", expected {rcode}")


# -- silence, unreachable servers, and the deadline ---------------------------------------


async def test_silent_server_is_a_timeout_within_the_targets_timeout(
    dns: DnsServer, ctx: CheckContext
) -> None:
    started = time.perf_counter()
    outcome = await check(ctx, "x.hole.test", timeout_s=0.8, server=dns.address)
    elapsed = time.perf_counter() - started
    assert (outcome.ok, outcome.error_class) == (False, "timeout")
    assert 0.6 < elapsed < 0.8
    assert outcome.error_message is not None
    assert outcome.error_message.startswith(f"A x.hole.test at {dns.address}: no answer within")
    assert outcome.details is not None and outcome.details["rcode"] is None
    assert dns.asked("x.hole.test") >= 2  # c-ares retried within the deadline


async def test_nothing_listening_is_a_dns_failure(ctx: CheckContext) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = await check(ctx, "a.good.test", timeout_s=2.0, server=f"127.0.0.1:{port}")
    assert not outcome.ok
    assert outcome.error_class in ("dns", "timeout")  # ICMP port unreachable, or silence
    assert outcome.error_message is not None and f"127.0.0.1:{port}" in outcome.error_message


@pytest.mark.parametrize(
    "server, why",
    [("127.0.0.1:99999", "not host[:port]"), ("no-such-ns.invalid", "cannot resolve")],
    ids=["bad-port", "unresolvable-server-name"],
)
async def test_bad_server_setting_is_a_dns_failure(
    ctx: CheckContext, server: str, why: str
) -> None:
    outcome = await check(ctx, "a.good.test", timeout_s=3.0, server=server)
    assert (outcome.ok, outcome.error_class) == (False, "dns")
    assert outcome.error_message is not None and why in outcome.error_message


async def test_slower_than_max_latency_is_slow(dns: DnsServer, ctx: CheckContext) -> None:
    outcome = await check(ctx, "a.good.test", server=dns.address, max_latency_ms=0.000001)
    assert (outcome.ok, outcome.error_class) == (False, "slow")
    assert outcome.latency_ms is not None and outcome.latency_ms > 0


# -- transports and servers ---------------------------------------------------------------


async def test_truncated_answer_is_asked_again_over_tcp(dns: DnsServer, ctx: CheckContext) -> None:
    before = dns.tcp_queries
    outcome = await check(ctx, "big.test", record_type="TXT", server=dns.address)
    assert outcome.ok, outcome.error_message
    assert dns.tcp_queries > before  # c-ares saw TC over UDP and retried over TCP
    assert outcome.details is not None
    assert len(outcome.details["answers"]) == 40
    assert outcome.details["answers"][0] == f"chunk 00 {'x' * 60}"


async def test_server_without_port_means_53(ctx: CheckContext) -> None:
    # Nothing of ours listens on 127.0.0.1:53: the label shows where the query went.
    outcome = await check(ctx, "a.good.test", timeout_s=1.0, server="127.0.0.1")
    assert outcome.details is not None and outcome.details["server"] == "127.0.0.1:53"


async def test_server_given_by_name(dns: DnsServer, ctx: CheckContext) -> None:
    port = dns.address.rpartition(":")[2]
    outcome = await check(ctx, "a.good.test", server=f"localhost:{port}")
    assert outcome.ok, outcome.error_message
    assert outcome.details is not None
    # Every address of the name, best first: ::1 (where nothing listens) fails over to 127.0.0.1.
    assert f"127.0.0.1:{port}" in str(outcome.details["server"]).split(", ")


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no ::1")
async def test_ipv6_server(ctx: CheckContext) -> None:
    async with dns_server("::1") as v6:
        assert v6.address.startswith("[::1]:")
        outcome = await check(ctx, "a.good.test", server=v6.address, expected=["127.0.0.1"])
        assert outcome.ok, outcome.error_message
        assert outcome.details is not None and outcome.details["server"] == v6.address
        assert v6.asked("a.good.test") == 1


async def test_no_server_uses_the_workers_resolvers(dns: DnsServer) -> None:
    settings = Settings(worker_dns_servers=dns.address)
    async with checks.running(settings) as ctx:
        outcome = await check(ctx, "a.good.test", expected=["127.0.0.1"])
    assert outcome.ok, outcome.error_message
    assert outcome.details is not None and outcome.details["server"] == dns.address


async def test_every_check_asks_again(dns: DnsServer, ctx: CheckContext) -> None:
    """A monitor must see a change at once: no answer is served from a cache."""
    before = dns.asked("cached.test")
    for _ in range(3):
        assert (await check(ctx, "cached.test", server=dns.address)).ok
    assert dns.asked("cached.test") - before == 3  # its TTL is an hour: c-ares would cache it


async def test_servfail_is_asked_once(dns: DnsServer, ctx: CheckContext) -> None:
    before = dns.asked("once.fail.test")
    assert (await check(ctx, "once.fail.test", server=dns.address)).error_class == "servfail"
    assert dns.asked("once.fail.test") - before == 1  # no burst of retries at a failing server


# -- through a real worker ----------------------------------------------------------------

LATEST = """
SELECT DISTINCT ON (target_id) target_id, ok, error_class, error_message, details
  FROM checks WHERE target_id = ANY($1::bigint[])
 ORDER BY target_id, checked_at DESC
"""


async def test_worker_stores_dns_details_and_error_class(dns: DnsServer, db, db_url: str) -> None:
    good = await add_target(
        db, "dns-good", "dns", "rich.test", settings={"record_type": "MX", "server": dns.address}
    )
    lying = await add_target(
        db,
        "dns-lies",
        "dns",
        "lies.test",
        settings={"server": dns.address, "expected": ["192.0.2.1"]},
    )

    async def latest() -> dict | None:
        rows = await db.fetch(LATEST, [good, lying])
        return {r["target_id"]: r for r in rows} if len(rows) == 2 else None

    async with running_worker(worker_settings(db_url)):
        by_id = await wait_for(latest, timeout=15, what="a stored check of each dns target")
    assert isinstance(by_id, dict)
    assert (by_id[good]["ok"], by_id[good]["error_class"]) == (True, None)
    assert by_id[good]["details"] == {
        "answers": ["10 mail.rich.test", "20 backup.rich.test"],
        "rcode": "NOERROR",
        "server": dns.address,
        "record_type": "MX",
    }
    assert (by_id[lying]["ok"], by_id[lying]["error_class"]) == (False, "mismatch")
    assert by_id[lying]["error_message"] == (
        "A lies.test: expected 192.0.2.1, got 192.0.2.7, 192.0.2.8"
    )
    assert by_id[lying]["details"]["answers"] == ["192.0.2.7", "192.0.2.8"]
