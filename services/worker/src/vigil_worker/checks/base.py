"""What every check takes and returns: the claimed target, the shared context and the outcome."""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .resolver import DnsError, Resolver

if TYPE_CHECKING:
    import aiohttp

    from .icmp import Pinger


@dataclass(slots=True)
class ClaimedTarget:
    """A target whose slot this worker claimed: slot `due_at` of the grid anchor_at + k * interval_s."""

    id: int
    name: str
    kind: str
    address: str
    interval_s: float
    timeout_s: float
    settings: dict[str, Any]
    anchor_at: datetime
    due_at: datetime


@dataclass(slots=True)
class Outcome:
    """A check's verdict. A target's failure is ok=False with a short error class, never an exception.

    latency_ms is the check's own measure (ICMP round trip, HTTP total); when None the caller
    uses the wall time of the whole check.
    """

    ok: bool
    latency_ms: float | None = None
    status_code: int | None = None
    error_class: str | None = None
    error_message: str | None = None
    timings: dict[str, float] | None = None
    tls_expires_at: datetime | None = None


@dataclass(slots=True)
class CheckContext:
    """Long-lived resources the checks share. The caller owns the deadline (asyncio.timeout).

    The worker passes the one Resolver made from its settings (also behind `http`'s connector);
    the default asks the servers of /etc/resolv.conf.
    """

    http: aiohttp.ClientSession
    pinger: Pinger
    http_body_cap_bytes: int = 1 << 20
    resolver: Resolver = field(default_factory=Resolver)
    extra: dict[str, Any] = field(default_factory=dict)


def failure(error_class: str, message: str, **kw: Any) -> Outcome:
    return Outcome(ok=False, error_class=error_class, error_message=message[:500], **kw)


async def resolve(resolver: Resolver, host: str, port: int | None, type_: int,
                  timeout_s: float) -> tuple[int, tuple, float] | Outcome:
    """(family, sockaddr, seconds spent) of `host`'s best address, or the `dns` failure.

    An IP literal skips DNS. A lookup waits at most the resolver's timeout and never longer than
    `timeout_s`, what is left of the check's deadline; when that deadline passes first, the
    caller's deadline makes the check a `timeout`.
    """
    literal = _ip_literal(host, port)
    if literal is not None:
        return literal[0], literal[1], 0.0
    started = time.perf_counter()
    try:
        addresses = await resolver.lookup(host, port, type_=type_, timeout_s=timeout_s)
    except DnsError as exc:
        return failure("dns", str(exc))
    family, sockaddr = addresses[0]
    return family, sockaddr, time.perf_counter() - started


@functools.lru_cache(maxsize=65536)
def _ip_literal(host: str, port: int | None) -> tuple[int, tuple] | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 4:
        return socket.AF_INET, (host, port or 0)
    return socket.AF_INET6, (host, port or 0, 0, 0)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
