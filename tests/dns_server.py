"""A loopback DNS server for tests (dnslib over UDP): answers, NXDOMAIN, SERVFAIL or silence by zone."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

Action = Literal["answer", "nxdomain", "servfail", "refused", "drop"]


@dataclass(frozen=True)
class Zone:
    """What the server does for `suffix` and every name below it.

    "answer" with no record of the asked type is NOERROR with an empty answer (NODATA), as
    real servers do for a name that has only A records.
    """

    suffix: str
    action: Action
    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    ttl: int = 0  # 0: resolvers must not cache, so every check asks again


ZONES = (
    Zone("good.test", "answer", a=("127.0.0.1",)),
    Zone("v6.test", "answer", aaaa=("::1",)),
    Zone("dual.test", "answer", a=("127.0.0.1",), aaaa=("::1",)),
    Zone("noaddr.test", "answer"),  # exists, but has neither A nor AAAA records
    Zone("fail.test", "servfail"),
    Zone("refuse.test", "refused"),
    Zone("hole.test", "drop"),  # black hole: the query is read and never answered
)
# Any other name gets NXDOMAIN.


class DnsServer(asyncio.DatagramProtocol):
    """Serves `zones` in the running loop; `address` is "127.0.0.1:PORT" (or "[::1]:PORT")."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        # Longest suffix first, so "x.sub.good.test" can be given its own zone.
        self.zones = sorted(zones, key=lambda z: -len(z.suffix))
        self.queries: collections.Counter[tuple[str, str]] = collections.Counter()
        self.address = ""
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def _zone(self, name: str) -> Zone | None:
        name = name.rstrip(".").lower()
        for zone in self.zones:
            if name == zone.suffix or name.endswith("." + zone.suffix):
                return zone
        return None

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage on the wire: a real server ignores it too
            return
        qname, qtype = str(request.q.qname), QTYPE[request.q.qtype]
        self.queries[(qname.rstrip(".").lower(), qtype)] += 1
        zone = self._zone(qname)
        if zone is not None and zone.action == "drop":
            return
        reply = request.reply()
        if zone is None or zone.action == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        elif zone.action == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif zone.action == "refused":
            reply.header.rcode = RCODE.REFUSED
        else:
            records = {"A": [A(ip) for ip in zone.a], "AAAA": [AAAA(ip) for ip in zone.aaaa]}
            for rdata in records.get(qtype, []):
                reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=zone.ttl))
        assert self._transport is not None
        self._transport.sendto(reply.pack(), addr)

    def asked(self, name: str) -> int:
        """How many queries (any type) arrived for `name`."""
        name = name.rstrip(".").lower()
        return sum(n for (qname, _), n in self.queries.items() if qname == name)


@asynccontextmanager
async def dns_server(
    zones: Sequence[Zone] = ZONES, host: str = "127.0.0.1"
) -> AsyncIterator[DnsServer]:
    """A DnsServer on a free UDP port of `host` (loopback only) for as long as the block runs."""
    assert host in ("127.0.0.1", "::1"), "test servers stay on loopback"
    server = DnsServer(zones)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: server, local_addr=(host, 0)
    )
    port = transport.get_extra_info("sockname")[1]
    server.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        yield server
    finally:
        transport.close()
