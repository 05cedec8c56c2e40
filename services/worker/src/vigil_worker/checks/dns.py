"""DNS checks: ask a name server (c-ares) for a name's records and hold the answer to the target's rules."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiodns
import pycares
from aiodns.error import DNSError
from pycares import errno as ares
from pycares._cares import ffi as _ffi  # type: ignore[import-not-found]
from pycares._cares import lib as _lib

from vigil_core.kinds import DnsSettings
from vigil_core.logging import get_logger
from vigil_core.settings import dns_servers
from vigil_core.text import storable

from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure, ms
from .resolver import DnsError

log = get_logger("vigil_worker.checks.dns")

MAX_ANSWERS = 50  # kept in details; the comparison sees every answer
MAX_ANSWER_CHARS = 500
MAX_CHANNELS = 64  # each c-ares channel has its own event thread

# The rcode a c-ares status stands for (ENODATA: NOERROR with no record of the type).
_RCODES = {
    ares.ARES_ENOTFOUND: "NXDOMAIN",
    ares.ARES_ENODATA: "NOERROR",
    ares.ARES_ESERVFAIL: "SERVFAIL",
    ares.ARES_EREFUSED: "REFUSED",
}
_RCODE_CLASS = {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail", "REFUSED": "refused"}
_RCODE_REASON = {
    "NOERROR": "the name exists (NOERROR)",
    "NXDOMAIN": "the name does not exist (NXDOMAIN)",
    "SERVFAIL": "the name server failed (SERVFAIL)",
    "REFUSED": "the name server refused the query (REFUSED)",
}
_OTHER_REASON = {
    ares.ARES_ECONNREFUSED: "the name server cannot be reached (connection refused)",
    ares.ARES_EBADNAME: "not a valid name",
    ares.ARES_EFORMERR: "the name server sent a malformed answer",
    ares.ARES_EBADRESP: "the name server sent a malformed answer",
    ares.ARES_ENOTIMP: "the name server does not implement the query (NOTIMP)",
    ares.ARES_ECANCELLED: "the lookup was cancelled (the worker is stopping)",
    ares.ARES_EDESTRUCTION: "the lookup was cancelled (the worker is stopping)",
}
# Same reasoning as the shared Resolver: c-ares sizes each try from the server's latency (at least
# 250 ms) and doubles it, so enough tries to outlast any target's timeout; our bound ends the query.
_SHORTEST_TRY_S = 0.25
_LONGEST_CHECK_S = 120.0
_TRIES = math.ceil(math.log2(_LONGEST_CHECK_S / _SHORTEST_TRY_S + 1))
_ARES_OPT_QUERY_CACHE = 1 << 21  # ares.h; pycares does not export it


class Channels:
    """The dns kind's shared resource: one c-ares channel per name server, made on first use.

    A channel per server (not one per check) keeps a check to one query on an open socket;
    the least recently used channel is closed past MAX_CHANNELS.
    """

    def __init__(self, default_servers: Iterable[str]) -> None:
        self.default_servers = tuple(default_servers)  # c-ares form; () = /etc/resolv.conf
        self._open: OrderedDict[tuple[str, ...], aiodns.DNSResolver] = OrderedDict()
        self._labels: dict[tuple[str, ...], str] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, servers: tuple[str, ...]) -> aiodns.DNSResolver:
        channel = self._open.get(servers)
        if channel is not None:
            self._open.move_to_end(servers)
            return channel
        if len(self._open) >= MAX_CHANNELS:
            _, oldest = self._open.popitem(last=False)
            task = asyncio.get_running_loop().create_task(oldest.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        channel = _LoopResolver(
            loop=asyncio.get_running_loop(),
            # Also the period of aiodns's timer that lets c-ares retransmit in this mode.
            timeout=_SHORTEST_TRY_S,
            tries=_TRIES,
            # One query, one verdict: without NOCHECKRESP c-ares asks again on SERVFAIL and
            # REFUSED (every try, at once) and reports the last; EDNS is its default, kept.
            flags=pycares.ARES_FLAG_NOCHECKRESP | pycares.ARES_FLAG_EDNS,
        )
        _without_query_cache(channel)
        if servers:  # after the swap: c-ares saves only some server forms with its options
            channel.nameservers = list(servers)
        self._open[servers] = channel
        return channel

    def label(self, servers: tuple[str, ...]) -> str:
        """The servers as details and messages name them ("127.0.0.1:53", or the system's)."""
        label = self._labels.get(servers)
        if label is None:
            if len(self._labels) >= 4 * MAX_CHANNELS:
                self._labels.clear()
            found = servers or tuple(self.get(servers).nameservers)
            label = self._labels[servers] = ", ".join(found) or "the system resolver"
        return label

    async def close(self) -> None:
        while self._open:
            _, channel = self._open.popitem()
            await channel.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class _LoopResolver(aiodns.DNSResolver):
    """aiodns with c-ares's sockets watched by the event loop itself, not by c-ares's own thread.

    pycares 5 prefers a thread per channel that hands every answer to the loop: under load that
    thread waits for the GIL on each answer, and a bare aiodns loop answered about 2.3x more
    queries per second, and more per CPU-second, this way (bench/README.md, throughput-dns).
    aiodns keeps this path as its fallback; only the choice is overridden here.
    """

    def _make_channel(self, **kwargs: Any) -> tuple[bool, pycares.Channel]:
        this = weakref.ref(self)  # no cycle resolver -> channel -> callback -> resolver

        def on_socket_state(fd: int, readable: bool, writable: bool) -> None:
            resolver = this()
            if resolver is not None:
                resolver._sock_state_cb(fd, readable, writable)

        return False, pycares.Channel(
            sock_state_cb=on_socket_state, timeout=self._timeout, **kwargs
        )


def _without_query_cache(resolver: aiodns.DNSResolver) -> None:
    """Turn off c-ares's answer cache (on by default, up to an hour): a check must ask the server
    every time, or a dead server or a changed record goes unseen until the TTL runs out.

    pycares has no option for it, so the fresh channel is cloned through c-ares's own
    ares_save_options / ares_init_options with qcache_max_ttl 0 and swapped in before its first
    query. If pycares's internals ever differ, the cached channel stays and this is logged.
    """
    try:
        channel = resolver._channel
        with channel._lock:
            handle: Any = channel._channel
            options = _ffi.new("struct ares_options *")
            mask = _ffi.new("int *")
            if _lib.ares_save_options(handle[0], options, mask) != _lib.ARES_SUCCESS:
                raise RuntimeError("ares_save_options failed")
            try:
                options.qcache_max_ttl = 0
                clone = _ffi.new("ares_channel *")
                status = _lib.ares_init_options(clone, options, mask[0] | _ARES_OPT_QUERY_CACHE)
            finally:
                _lib.ares_destroy_options(options)
            if status != _lib.ARES_SUCCESS:
                raise RuntimeError(f"ares_init_options failed ({status})")
            original, handle[0] = handle[0], clone[0]
            _lib.ares_destroy(original)
    except (AttributeError, RuntimeError, TypeError) as exc:
        log.error("dns.query_cache_on", reason=str(exc))


async def start(ctx: CheckContext) -> Channels:
    return Channels(dns_servers(ctx.settings.worker_dns_servers))


async def stop(channels: Channels) -> None:
    await channels.close()


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server said: its rcode and the normalised values of the asked type."""

    rcode: str
    values: tuple[str, ...]


async def check_dns(target: ClaimedTarget[DnsSettings], ctx: CheckContext) -> Outcome:
    s = target.settings
    name, rtype = target.address.rstrip(".").lower(), s.record_type
    loop = asyncio.get_running_loop()
    # Our bound ends a little before the caller's, so a silent server is this check's own
    # `timeout` (naming the name, type and server), not the caller's generic one.
    deadline = loop.time() + target.timeout_s - min(0.1, target.timeout_s / 10)
    channels: Channels = ctx.resource(KIND)
    servers = await _servers(s.server, channels, ctx, deadline - loop.time())
    if isinstance(servers, Outcome):
        return servers
    label = channels.label(servers)
    where = f"{rtype} {name} at {label}"
    details: dict[str, object] = {
        "answers": [],
        "rcode": None,
        "server": label,
        "record_type": rtype,
    }
    started = time.perf_counter()
    answer = await _ask(channels.get(servers), name, rtype, deadline - loop.time())
    latency = ms(time.perf_counter() - started)
    if isinstance(answer, str):  # no rcode: the server was silent or unreachable
        error_class = "timeout" if answer.startswith("no answer") else "dns"
        return failure(error_class, f"{where}: {answer}", latency_ms=latency, details=details)
    details["rcode"] = answer.rcode
    details["answers"] = [storable(v)[:MAX_ANSWER_CHARS] for v in answer.values[:MAX_ANSWERS]]
    verdict = _judge(s, f"{rtype} {name}", where, answer)
    if verdict is not None:
        error_class, message = verdict
        return failure(error_class, message, latency_ms=latency, details=details)
    if s.max_latency_ms is not None and latency > s.max_latency_ms:
        return failure(
            "slow",
            f"{where}: answered in {latency:g} ms, more than {s.max_latency_ms:g} ms",
            latency_ms=latency,
            details=details,
        )
    return Outcome(ok=True, latency_ms=latency, timings={"total": latency}, details=details)


def _judge(s: DnsSettings, what: str, where: str, answer: Answer) -> tuple[str, str] | None:
    """(error class, message) when the answer breaks the target's rules, else None."""
    if answer.rcode != s.expected_rcode:
        why = _RCODE_REASON[answer.rcode]
        return _RCODE_CLASS.get(
            answer.rcode, "mismatch"
        ), f"{where}: {why}, expected {s.expected_rcode}"
    if not s.expected:
        return None
    expected = _expected(s.record_type, s.expected)
    got = frozenset(answer.values)
    held = {"any": bool(expected & got), "all": expected <= got, "exact": expected == got}
    if held[s.match]:
        return None
    wanted = ", ".join(sorted(expected))
    if len(expected) > 1 or s.match == "exact":
        wanted = {"any": "any of ", "all": "all of ", "exact": "exactly "}[s.match] + wanted
    return "mismatch", f"{what}: expected {wanted}, got {', '.join(answer.values) or 'no records'}"


async def _servers(
    server: str | None, channels: Channels, ctx: CheckContext, bound_s: float
) -> tuple[str, ...] | Outcome:
    """The c-ares server list for the target's `server` setting, or the `dns` failure.

    A server given by name is resolved like any check's host, each time (its address may move).
    A name that is not host[:port] is the `dns` failure too: the API validates it, a hand-written
    row may not be.
    """
    if server is None:
        return channels.default_servers
    try:
        return tuple(dns_servers(server))
    except ValueError:
        pass
    host, sep, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "53")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return failure("dns", f"the name server {server!r} is not host[:port] (port 1-65535)")
    try:
        found = await ctx.resolver.lookup(host, timeout_s=bound_s)
    except DnsError as exc:
        return failure("dns", f"the name server {server!r}: {exc}")
    # Every address, best first: c-ares moves on to the next one when a server fails.
    ips = dict.fromkeys(ipaddress.ip_address(sockaddr[0]) for _, sockaddr in found)
    return tuple(f"[{ip}]:{int(port)}" if ip.version == 6 else f"{ip}:{int(port)}" for ip in ips)


async def _ask(channel: aiodns.DNSResolver, name: str, rtype: str, bound_s: float) -> Answer | str:
    """The server's Answer, or why there is none (a storable reason)."""
    if not name or any(c <= " " or c == "\x7f" for c in name):
        return "not a valid name"  # c-ares would cut a name at NUL
    started = time.perf_counter()
    bound_s = max(0.0, bound_s)
    try:
        async with asyncio.timeout(bound_s):
            result = await channel.query_dns(name, rtype)
    except TimeoutError:
        return f"no answer within {bound_s:.3g} s"
    except DNSError as exc:
        code = exc.args[0] if exc.args else None
        if code in _RCODES:
            return Answer(_RCODES[code], ())
        if code == ares.ARES_ETIMEOUT:  # c-ares ran out of tries before our bound
            return f"no answer within {time.perf_counter() - started:.3g} s"
        return _OTHER_REASON.get(code) or storable(str(exc.args[-1] if exc.args else exc))
    except UnicodeError:  # a name IDNA cannot encode
        return "not a valid name"
    wanted = _QTYPE[rtype]
    return Answer("NOERROR", tuple(_value(rr.data) for rr in result.answer if rr.type == wanted))


_QTYPE = {
    "A": pycares.QUERY_TYPE_A,
    "AAAA": pycares.QUERY_TYPE_AAAA,
    "CNAME": pycares.QUERY_TYPE_CNAME,
    "MX": pycares.QUERY_TYPE_MX,
    "TXT": pycares.QUERY_TYPE_TXT,
    "NS": pycares.QUERY_TYPE_NS,
    "SOA": pycares.QUERY_TYPE_SOA,
    "SRV": pycares.QUERY_TYPE_SRV,
    "CAA": pycares.QUERY_TYPE_CAA,
}


def _value(data: object) -> str:
    """A record's value in the form `expected` is written in (see _normalise)."""
    if isinstance(data, pycares.ARecordData | pycares.AAAARecordData):
        return str(ipaddress.ip_address(data.addr))
    if isinstance(data, pycares.CNAMERecordData):
        return _name(data.cname)
    if isinstance(data, pycares.NSRecordData):
        return _name(data.nsdname)
    if isinstance(data, pycares.MXRecordData):
        return f"{data.priority} {_name(data.exchange)}"
    if isinstance(data, pycares.TXTRecordData):
        return data.data.decode("utf-8", "replace")
    if isinstance(data, pycares.SRVRecordData):
        return f"{data.priority} {data.weight} {data.port} {_name(data.target)}"
    if isinstance(data, pycares.CAARecordData):
        return f'{data.critical} {data.tag.lower()} "{data.value}"'
    if isinstance(data, pycares.SOARecordData):
        return (
            f"{_name(data.mname)} {_name(data.rname)} {data.serial} {data.refresh} "
            f"{data.retry} {data.expire} {data.minimum}"
        )
    return str(data)


def _name(name: str) -> str:
    return name.rstrip(".").lower()


@functools.lru_cache(maxsize=4096)
def _expected(rtype: str, values: tuple[str, ...]) -> frozenset[str]:
    """The target's expected values in the form answers take (a claim decodes them once; this
    keeps the per-check cost to a lookup)."""
    return frozenset(_normalise(rtype, v) for v in values)


def _normalise(rtype: str, value: str) -> str:
    """An expected value as _value writes answers: "192.0.2.1", "10 mail.example.com",
    'SRV "10 5 5060 sip.example.com"', CAA '0 issue "ca.example"', TXT as one string."""
    value = value.strip()
    if rtype == "TXT":
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if rtype in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if rtype == "CAA":
        flags, _, rest = value.partition(" ")
        tag, _, caa = rest.strip().partition(" ")
        caa = caa.strip()
        if len(caa) >= 2 and caa[0] == caa[-1] == '"':
            caa = caa[1:-1]
        return f'{flags} {tag.lower()} "{caa}"'
    fields = value.split()
    names = {"CNAME": (0,), "NS": (0,), "MX": (1,), "SRV": (3,), "SOA": (0, 1)}[rtype]
    return " ".join(_name(f) if i in names else f for i, f in enumerate(fields))


KIND: Kind[DnsSettings, Channels] = Kind("dns", DnsSettings, check_dns, start, stop)
