"""Name resolution for every check: c-ares (aiodns) with its own timeout, never the loop's thread pool.

`loop.getaddrinfo` runs the blocking libc call in the loop's default executor, a handful of
threads: a few names whose server never answers hold all of them, and every other hostname
target then waits in the executor's queue until its deadline and looks down. c-ares sends the
queries itself from one event thread per channel and hands each answer to the loop, so a
black-holed name costs one pending query, not a thread.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Sequence

import aiodns
from aiodns.error import DNSError
from aiohttp.abc import AbstractResolver, ResolveResult
from pycares import errno as ares

from vigil_core.settings import Settings, dns_servers
from vigil_core.text import storable

# c-ares sizes each try from the server's recent latency (5 x the average, at least 250 ms), not
# from the configured timeout, and doubles it on every retry: with one try, a name server that is
# usually fast gets 250 ms for a name it must look up recursively. So c-ares retransmits until
# our own bound (asyncio.timeout below) ends the lookup.
_SHORTEST_TRY_S = 0.25

_REASONS = {
    ares.ARES_ENOTFOUND: "the name does not exist (NXDOMAIN)",
    ares.ARES_ENODATA: "the name has no address records",
    ares.ARES_ESERVFAIL: "the name server failed (SERVFAIL)",
    ares.ARES_EREFUSED: "the name server refused the query (REFUSED)",
    ares.ARES_ECONNREFUSED: "the name server cannot be reached (connection refused)",
    ares.ARES_EBADNAME: "not a valid host name",
    ares.ARES_EFORMERR: "the name server sent a malformed answer",
    ares.ARES_EBADRESP: "the name server sent a malformed answer",
    ares.ARES_ECANCELLED: "the lookup was cancelled (the worker is stopping)",
    ares.ARES_EDESTRUCTION: "the lookup was cancelled (the worker is stopping)",
}
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class DnsError(OSError):
    """A lookup that failed; str() is the storable message a check reports (class `dns`)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(storable(f"cannot resolve {host!r}: {reason}"))


class Resolver:
    """One per worker process: a c-ares channel, made on first use in the running loop."""

    def __init__(self, servers: Sequence[str] = (), timeout_s: float = 2.0) -> None:
        self.servers = list(servers)  # c-ares form ("ip:port", "[v6]:port"); empty: resolv.conf
        self.timeout_s = timeout_s
        self._dns: aiodns.DNSResolver | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Resolver:
        return cls(dns_servers(settings.worker_dns_servers), settings.worker_dns_timeout_s)

    def _channel(self) -> aiodns.DNSResolver:
        if self._dns is None:
            tries = max(2, math.ceil(math.log2(self.timeout_s / _SHORTEST_TRY_S + 1)))
            self._dns = aiodns.DNSResolver(
                nameservers=self.servers or None,
                loop=asyncio.get_running_loop(),
                timeout=self.timeout_s,
                tries=tries,
            )
        return self._dns

    async def lookup(
        self,
        host: str,
        port: int | None = None,
        *,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        type_: int = socket.SOCK_STREAM,
        timeout_s: float | None = None,
    ) -> list[tuple[int, tuple]]:
        """Every address of `host` as (family, sockaddr), best first; raises DnsError.

        Waits at most the resolver's timeout, and never longer than `timeout_s` (what is left of
        the check's deadline) when given.
        """
        if not host or any(c <= " " or c == "\x7f" for c in host):
            raise DnsError(host, "not a valid host name")  # c-ares would cut a name at NUL
        bound = self.timeout_s if timeout_s is None else max(0.0, min(self.timeout_s, timeout_s))
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(bound):
                result = await self._channel().getaddrinfo(
                    host, port=port, family=family, type=type_
                )
        except TimeoutError:
            raise DnsError(host, f"no answer from the name server within {bound:g} s") from None
        except DNSError as exc:
            code = exc.args[0] if exc.args else None
            if code == ares.ARES_ETIMEOUT:  # c-ares ran out of tries before our bound
                waited = round(loop.time() - started, 1)
                raise DnsError(
                    host, f"no answer from the name server within {waited:g} s"
                ) from None
            reason = _REASONS.get(code) or (exc.args[1] if len(exc.args) > 1 else repr(exc))
            raise DnsError(host, reason) from None
        except UnicodeError:  # a name IDNA cannot encode
            raise DnsError(host, "not a valid host name") from None
        addresses = []
        for node in result.nodes:
            ip, *rest = node.addr
            addresses.append((node.family, (ip.decode("ascii"), *rest)))
        if not addresses:
            raise DnsError(host, "the name has no address records")
        return addresses

    def for_aiohttp(self) -> AbstractResolver:
        """The same lookups behind aiohttp's resolver interface, for the HTTP checks' connector."""
        return _AiohttpResolver(self)

    async def close(self) -> None:
        if self._dns is not None:
            await self._dns.close()
            self._dns = None


class _AiohttpResolver(AbstractResolver):
    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # aiohttp runs this in a task of its own (shared by concurrent requests for one host),
        # so the check's cancellation does not end it: the resolver's own timeout does.
        # DnsError is an OSError: aiohttp raises it as ClientConnectorDNSError, class `dns`.
        found = await self._resolver.lookup(host, port, family=family, type_=socket.SOCK_STREAM)
        results = []
        for fam, sockaddr in found:
            ip = sockaddr[0]
            if fam == socket.AF_INET6 and sockaddr[3]:
                ip = f"{ip}%{sockaddr[3]}"  # a link-local address needs its interface
            results.append(
                ResolveResult(
                    hostname=host, host=ip, port=sockaddr[1], family=fam, proto=0, flags=_NUMERIC
                )
            )
        return results

    async def close(self) -> None:
        """The worker closes the Resolver itself, after the session."""
