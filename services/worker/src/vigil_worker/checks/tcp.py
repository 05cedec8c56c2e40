"""TCP checks: resolve, connect under the caller's deadline, then close cleanly."""

from __future__ import annotations

import asyncio
import os
import socket
import time

from vigil_core.kinds import TcpSettings, parse_host_port

from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure, ms, resolve


async def connect_socket(
    ctx: CheckContext, address: str, timeout_s: float
) -> tuple[socket.socket, float, float] | Outcome:
    """A connected non-blocking socket to host:port with the lookup's and the connect's
    seconds, or the failure (dns, refused, connect). The tcp and tls kinds share it."""
    host, port = parse_host_port(address)
    loop = ctx.running_loop()
    resolved = await resolve(ctx.resolver, host, port, socket.SOCK_STREAM, timeout_s)
    if isinstance(resolved, Outcome):
        return resolved
    family, sockaddr, dns_s = resolved
    started = time.perf_counter()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        await connect_nonblocking(loop, sock, sockaddr)
    except ConnectionRefusedError:
        return failure("refused", f"connection to {address} refused")
    except OSError as exc:
        return failure("connect", f"cannot connect to {address}: {exc.strerror or exc}")
    return sock, dns_s, time.perf_counter() - started


async def connect_nonblocking(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, sockaddr: tuple
) -> None:
    """Make `sock` non-blocking and connect it to `sockaddr`, an address already resolved,
    waiting for it to become writable. What `loop.sock_connect` does, without the getaddrinfo
    it makes again for every connect (on uvloop about a quarter of a loopback connect's CPU,
    see bench/README.md). Errors are the connect's own (ConnectionRefusedError, OSError); when
    the connect fails or is cancelled (the caller's deadline), `sock` is closed, so no socket
    is left behind."""
    sock.setblocking(False)
    try:
        try:
            sock.connect(sockaddr)
            return
        except BlockingIOError:
            pass
        fd = sock.fileno()
        writable = loop.create_future()
        loop.add_writer(fd, _wake, writable)
        try:
            await writable
        finally:
            loop.remove_writer(fd)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))  # OSError picks the subclass of the errno
    except BaseException:
        sock.close()
        raise


def _wake(writable: asyncio.Future[None]) -> None:
    if not writable.done():
        writable.set_result(None)


async def check_tcp(target: ClaimedTarget[TcpSettings], ctx: CheckContext) -> Outcome:
    connected = await connect_socket(ctx, target.address, target.timeout_s)
    if isinstance(connected, Outcome):
        return connected
    sock, dns_s, connect_s = connected
    # A clean close: FIN, not RST, so the target's logs show a normal disconnect.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    timings = {
        "dns": ms(dns_s),
        "connect": ms(connect_s),
        "total": ms(dns_s + connect_s),
    }
    return Outcome(ok=True, latency_ms=timings["connect"], timings=timings)


KIND: Kind[TcpSettings, None] = Kind("tcp", TcpSettings, check_tcp)
