"""What every check takes and returns: the claimed target, the shared context and the outcome."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    """Long-lived resources the checks share. The caller owns the deadline (asyncio.timeout)."""

    http: aiohttp.ClientSession
    pinger: Pinger
    http_body_cap_bytes: int = 1 << 20
    extra: dict[str, Any] = field(default_factory=dict)


def failure(error_class: str, message: str, **kw: Any) -> Outcome:
    return Outcome(ok=False, error_class=error_class, error_message=message[:500], **kw)


async def resolve(host: str, port: int | None, type_: int) -> tuple[int, tuple]:
    """(family, sockaddr) of `host`; an IP literal skips getaddrinfo and its thread pool."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        family, _, _, _, sockaddr = (await asyncio.get_running_loop().getaddrinfo(
            host, port, type=type_))[0]
        return family, sockaddr
    if ip.version == 4:
        return socket.AF_INET, (host, port or 0)
    return socket.AF_INET6, (host, port or 0, 0, 0)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
