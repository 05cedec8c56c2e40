"""What every check takes and returns: the claimed target, the shared context, the outcome, and a kind's entry."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from vigil_core import kinds
from vigil_core.settings import Settings

from .resolver import DnsError, Resolver

if TYPE_CHECKING:
    import asyncpg


S = TypeVar("S")  # a kind's settings struct
R = TypeVar("R")  # what a kind's start hook makes for its checks to share


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stored settings this worker cannot read: a kind or a field it does not know (a newer
    API wrote them during an upgrade) or a value of the wrong type (written by hand)."""

    reason: str


@dataclass(slots=True)
class ClaimedTarget(Generic[S]):
    """A target whose slot this worker claimed: slot `due_at` of the grid anchor_at + k * interval_s.

    `settings` is its kind's struct (vigil_core.kinds), decoded once per claim, or Unreadable
    when the stored value is not one: run_check then stores `unsupported` and calls no check.
    """

    id: int
    name: str
    kind: str
    address: str
    interval_s: float
    timeout_s: float
    settings: S
    anchor_at: datetime
    due_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record | Mapping[str, Any]) -> ClaimedTarget[Any]:
        """The target of a claim_due record (its columns by name); never raises for its settings."""
        kind = row["kind"]
        return cls(
            id=row["id"],
            name=row["name"],
            kind=kind,
            address=row["address"],
            interval_s=row["interval_s"],
            timeout_s=row["timeout_s"],
            settings=_decode(kind, row["settings"]),
            anchor_at=row["anchor_at"],
            due_at=row["due_at"],
        )

    def at(self, due_at: datetime) -> ClaimedTarget[S]:
        """The same target at another slot of its grid (the offline path runs the next one)."""
        return replace(self, due_at=due_at)


def _decode(kind: str, stored: Mapping[str, Any] | None) -> Any:
    """The struct of the kind's stored settings, or Unreadable."""
    try:
        return kinds.decode(kind, stored)
    except kinds.SettingsError as exc:
        return Unreadable(str(exc))


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
    details: dict[str, object] | None = None  # what it found: DNS answers, a certificate


@dataclass(slots=True)
class CheckContext:
    """What the checks share for the life of the worker. The caller owns the deadline.

    `resources` holds what each kind's start hook made (the HTTP session, the ICMP sockets),
    by kind name; a check reads its own with `resource(KIND)`. checks.start() builds the
    context the worker uses, with the one Resolver made from its settings.
    """

    settings: Settings = field(default_factory=Settings)
    resolver: Resolver = field(default_factory=Resolver)
    resources: dict[str, Any] = field(default_factory=dict)
    # The loop the checks run on (checks.start() sets it): on Python 3.11 every
    # asyncio.get_running_loop() is a getpid() system call, and a check would make several.
    loop: asyncio.AbstractEventLoop | None = None

    def running_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop if self.loop is not None else asyncio.get_running_loop()

    def resource(self, kind: Kind[Any, R]) -> R:
        return self.resources[kind.name]


Check = Callable[[ClaimedTarget[S], CheckContext], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Kind(Generic[S, R]):
    """A check kind as the registry knows it: its settings struct (from vigil_core.kinds), its
    check, and the optional hooks that start and stop what its checks share."""

    name: str
    settings: type[S]
    check: Check[S]
    start: Callable[[CheckContext], Awaitable[R]] | None = None
    stop: Callable[[R], Awaitable[None]] | None = None


def failure(error_class: str, message: str, **kw: Any) -> Outcome:
    return Outcome(ok=False, error_class=error_class, error_message=message[:500], **kw)


async def resolve(
    resolver: Resolver, host: str, port: int | None, type_: int, timeout_s: float
) -> tuple[int, tuple, float] | Outcome:
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
