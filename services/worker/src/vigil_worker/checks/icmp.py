"""ICMP echo checks through ONE shared socket per address family, matching replies to waiters.

Why not aioping: it opens a raw socket per ping, and the kernel hands a copy of every echo
reply to every raw ICMP socket, so N concurrent pings cost N^2 packet copies and lose replies
when socket buffers overflow (2.4 % false timeouts measured at 200 concurrent). Here one
non-blocking socket per family is registered with the event loop; each ping sends an echo
request whose payload carries a per-process random token and a 64-bit counter, and the reader
resolves the waiting future whose (token, counter) comes back. The counter never wraps, so
a late reply can never be taken for a newer ping, and replies meant for other processes
(raw sockets see them all) fail the token test.

Raw sockets need CAP_NET_RAW; without it we fall back to unprivileged ICMP sockets
(SOCK_DGRAM, allowed by net.ipv4.ping_group_range), where the kernel picks the identifier and
delivers only our replies.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
import struct
import time
from typing import Literal

from vigil_core.kinds import IcmpSettings
from vigil_core.logging import get_logger

from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure, ms, resolve

log = get_logger("vigil_worker.checks.icmp")

Mode = Literal["auto", "raw", "dgram"]
_ECHO_REQUEST: dict[int, int] = {socket.AF_INET: 8, socket.AF_INET6: 128}
_ECHO_REPLY: dict[int, int] = {socket.AF_INET: 0, socket.AF_INET6: 129}
_PROTO: dict[int, int] = {
    socket.AF_INET: socket.IPPROTO_ICMP,
    socket.AF_INET6: socket.IPPROTO_ICMPV6,
}
_RCVBUF = 8 << 20  # a burst of 1000s of replies must not overflow the socket buffer
_SOL_RAW, _ICMP_FILTER = 255, 1  # Linux: let the kernel drop everything but echo replies


class IcmpUnavailable(OSError):
    """Neither a raw nor an unprivileged ICMP socket may be opened."""


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class _Channel:
    """One socket for one address family and the loop reader attached to it."""

    def __init__(self, family: int, sock: socket.socket, raw: bool) -> None:
        self.family = family
        self.sock = sock
        self.raw = raw


class Pinger:
    """Sends echo requests and matches replies; one per process (see module docstring)."""

    def __init__(self, mode: Mode = "auto") -> None:
        self._mode = mode
        self._token = os.urandom(8)
        self._ident = int.from_bytes(os.urandom(2), "big")  # raw sockets: ours to choose
        self._counter = itertools.count(1)
        self._channels: dict[int, _Channel] = {}
        self._unavailable: dict[int, str] = {}
        self._waiters: dict[int, tuple[asyncio.Future[float], str]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._waiters)

    def mode_of(self, family: int) -> str | None:
        ch = self._channels.get(family)
        return None if ch is None else ("raw" if ch.raw else "dgram")

    def _open(self, family: int) -> _Channel:
        if (ch := self._channels.get(family)) is not None:
            return ch
        if family in self._unavailable:
            raise IcmpUnavailable(self._unavailable[family])
        modes = {"auto": (True, False), "raw": (True,), "dgram": (False,)}[self._mode]
        errors = []
        for raw in modes:
            try:
                sock = socket.socket(
                    family, socket.SOCK_RAW if raw else socket.SOCK_DGRAM, _PROTO[family]
                )
            except OSError as exc:  # EPERM / EACCES without the privilege
                errors.append(f"{'raw' if raw else 'unprivileged'} socket: {exc.strerror or exc}")
                continue
            sock.setblocking(False)
            for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
                if opt is None:
                    continue
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt, _RCVBUF)
                    break
                except OSError:
                    continue
            if raw and family == socket.AF_INET:
                try:
                    sock.setsockopt(
                        _SOL_RAW,
                        _ICMP_FILTER,
                        struct.pack("I", ~(1 << _ECHO_REPLY[family]) & 0xFFFFFFFF),
                    )
                except OSError:
                    pass  # filtering in Python below is enough
            ch = _Channel(family, sock, raw)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable, ch)
            self._channels[family] = ch
            log.info(
                "icmp.socket_opened",
                family=socket.AddressFamily(family).name,
                mode="raw" if raw else "dgram",
            )
            return ch
        message = (
            "ICMP checks are unavailable: " + "; ".join(errors) + ". Grant the worker "
            "CAP_NET_RAW, or allow unprivileged ICMP with sysctl "
            f"net.ipv4.ping_group_range covering gid {os.getgid()}"
        )
        self._unavailable[family] = message
        log.error("icmp.unavailable", family=socket.AddressFamily(family).name, message=message)
        raise IcmpUnavailable(message)

    def _on_readable(self, ch: _Channel) -> None:
        now = time.perf_counter()
        while True:
            try:
                data, addr = ch.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket; keep reading
                log.debug("icmp.recv_error", error=str(exc))
                continue
            if ch.raw and ch.family == socket.AF_INET:
                data = data[(data[0] & 0x0F) * 4 :]  # raw IPv4 sockets include the IP header
            if len(data) < 24 or data[0] != _ECHO_REPLY[ch.family] or data[8:16] != self._token:
                continue  # not an echo reply to this process
            counter = int.from_bytes(data[16:24], "big")
            ident, seq = struct.unpack("!HH", data[4:8])
            if (ch.raw and ident != self._ident) or seq != counter & 0xFFFF:
                continue
            waiter = self._waiters.get(counter)
            if waiter is not None and waiter[1] == addr[0] and not waiter[0].done():
                waiter[0].set_result(now)

    def _packet(self, family: int, counter: int) -> bytes:
        payload = self._token + counter.to_bytes(8, "big")
        seq = counter & 0xFFFF
        header = struct.pack("!BBHHH", _ECHO_REQUEST[family], 0, 0, self._ident, seq)
        if family == socket.AF_INET:  # the kernel fills in ICMPv6 (and DGRAM) checksums
            header = struct.pack(
                "!BBHHH", _ECHO_REQUEST[family], 0, checksum(header + payload), self._ident, seq
            )
        return header + payload

    async def ping(self, ip: str, family: int) -> float:
        """One echo to `ip`; returns the round trip in seconds. The caller owns the deadline."""
        ch = self._open(family)
        loop = asyncio.get_running_loop()
        counter = next(self._counter)
        fut: asyncio.Future[float] = loop.create_future()
        self._waiters[counter] = (fut, ip)
        packet = self._packet(family, counter)
        dest = (ip, 0) if family == socket.AF_INET else (ip, 0, 0, 0)
        try:
            sent = time.perf_counter()
            try:
                ch.sock.sendto(packet, dest)
            except BlockingIOError:
                await loop.sock_sendto(ch.sock, packet, dest)
                sent = time.perf_counter()
            return await fut - sent
        finally:
            del self._waiters[counter]

    def close(self) -> None:
        loop = asyncio.get_event_loop()
        for ch in self._channels.values():
            loop.remove_reader(ch.sock.fileno())
            ch.sock.close()
        self._channels.clear()


async def check_icmp(target: ClaimedTarget[IcmpSettings], ctx: CheckContext) -> Outcome:
    resolved = await resolve(
        ctx.resolver, target.address.strip("[]"), None, socket.SOCK_RAW, target.timeout_s
    )
    if isinstance(resolved, Outcome):
        return resolved
    family, sockaddr, dns_s = resolved
    try:
        rtt = await ctx.resource(KIND).ping(sockaddr[0], family)
    except IcmpUnavailable as exc:
        return failure("permission", str(exc))
    except OSError as exc:
        cls = "unreachable" if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) else "send"
        return failure(cls, f"cannot send to {sockaddr[0]}: {exc.strerror or exc}")
    timings = {"dns": ms(dns_s), "rtt": ms(rtt)}
    return Outcome(ok=True, latency_ms=timings["rtt"], timings=timings)


async def _start(ctx: CheckContext) -> Pinger:
    return Pinger(ctx.settings.worker_icmp_mode)  # its sockets open at the first ping


async def _stop(pinger: Pinger) -> None:
    pinger.close()


KIND: Kind[IcmpSettings, Pinger] = Kind("icmp", IcmpSettings, check_icmp, start=_start, stop=_stop)
