"""The fault suite's loopback servers, a process of their own: `python -m tests.faults.zoo ROLE DIR`.

ROLE is `hostile` (HOSTILE and HOSTILE_TLS below) or `healthy` (HTTP, HTTPS, TCP and a DNS
server); DIR holds the certificates of tests/faults/certs.py. A process of its own, so that
hostile servers (a streamed body, a gzip bomb) spend their CPU outside the worker being
measured. It prints one JSON line, {server name: port}, once every server listens, then serves
until SIGTERM or until its stdin closes (the test process died). Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import struct
import sys
import threading
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.dns_server import DnsServer, Zone

HOST = "127.0.0.1"
# No connection outlives a test run, whatever the client does.
CAP_S = 60.0
# The DNS server answers ok.vigil.test and never answers anything under blackhole.vigil.test.
DNS_ZONES = (
    Zone("ok.vigil.test", "answer", a=("127.0.0.1",)),
    Zone("blackhole.vigil.test", "drop"),
)

Reader, Writer = asyncio.StreamReader, asyncio.StreamWriter
Behaviour = Callable[[Reader, Writer], Awaitable[None]]


def _gzip_bomb(decompressed: int = 128 << 20) -> bytes:
    """`decompressed` zero bytes, gzip-compressed (about 1000:1)."""
    z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join([*(z.compress(chunk) for _ in range(decompressed >> 20)), z.flush()])


async def _request(reader: Reader) -> bool:
    """Read one request head; False when the client went away first."""
    try:
        async with asyncio.timeout(CAP_S):
            await reader.readuntil(b"\r\n\r\n")
        return True
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
        return False


async def _until_closed(reader: Reader) -> None:
    """Say nothing and hold the connection until the client gives up."""
    async with asyncio.timeout(CAP_S):
        while await reader.read(65536):
            pass


def _response(head: bytes, body: bytes = b"") -> bytes:
    return head + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


async def _answer(reader: Reader, writer: Writer, data: bytes) -> None:
    if await _request(reader):
        writer.write(data)
        await writer.drain()


def answer(data: bytes) -> Behaviour:
    return lambda r, w: _answer(r, w, data)


OK = _response(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain", b"ok from the vigil zoo")


async def slowloris(reader: Reader, writer: Writer) -> None:
    if not await _request(reader):
        return
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Trickle-%d: x\r\n" % i for i in range(10_000))
    async with asyncio.timeout(CAP_S):
        for i in range(len(head)):
            writer.write(head[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0.1)


async def headers_then_silence(reader: Reader, writer: Writer) -> None:
    if await _request(reader):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        await writer.drain()
        await _until_closed(reader)


async def endless_body(reader: Reader, writer: Writer) -> None:
    if not await _request(reader):
        return
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 65536
    async with asyncio.timeout(CAP_S):
        for _ in range(16384):  # 1 GiB at most
            writer.write(chunk)
            await writer.drain()


def gzip_bomb() -> Behaviour:
    bomb = _gzip_bomb()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(bomb)
    )

    async def serve(reader: Reader, writer: Writer) -> None:
        if await _request(reader):
            writer.write(head + bomb)
            await writer.drain()
            await _until_closed(reader)

    return serve


async def garbage(reader: Reader, writer: Writer) -> None:
    if await _request(reader):
        writer.write(b"\x00\xff\xfeSSH-2.0-not-http \x1b[31m\r\n\r\n" + bytes(range(256)) * 4)
        await writer.drain()
        await _until_closed(reader)


async def reset(reader: Reader, writer: Writer) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN.
    writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
    )
    writer.transport.abort()


async def stall(reader: Reader, writer: Writer) -> None:
    await _until_closed(reader)  # a TLS ClientHello arrives and is never answered


async def tcp_accept(reader: Reader, writer: Writer) -> None:
    pass  # accepted; the connection closes at once


HOSTILE: dict[str, Callable[[], Behaviour]] = {
    "slowloris": lambda: slowloris,
    "headers_then_silence": lambda: headers_then_silence,
    "endless_body": lambda: endless_body,
    "gzip_bomb": gzip_bomb,
    "big_headers": lambda: answer(_response(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000, b"ok")),
    "garbage": lambda: garbage,
    "reset": lambda: reset,
    "redirect_loop": lambda: answer(_response(b"HTTP/1.1 302 Found\r\nLocation: /loop")),
    "redirect_scheme": lambda: answer(
        _response(b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1:21/pub/file")
    ),
    "bad_bytes_status": lambda: answer(
        _response(
            b"HTTP/1.1 503 Unavailable \xff\xfe\xc3\x28\r\nX-Bad: \xff\xfe\x80\r\n"
            b"Server: zoo\xc3\x28\xed\xa0\x80",
            b"not utf-8 \xff",
        )
    ),
    "bad_bytes_location": lambda: answer(
        _response(
            b"HTTP/1.1 302 Found \xff\xfe\r\nLocation: ftp://127.0.0.1/\xff\xfe\xc3\x28\xed\xa0\x80\r\n"
            b"X-Bad: \x80\x81"
        )
    ),
    "tls_stall": lambda: stall,
}
# name -> certificate in CERT_DIR; each answers 200 once the handshake is done.
HOSTILE_TLS = {
    "tls_self_signed": "self_signed",
    "tls_expired": "expired",
    "tls_wrong_host": "wrong_host",
}


def _tls(cert_dir: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_dir / f"{name}.pem", cert_dir / f"{name}.key")
    return ctx


def _guarded(behaviour: Behaviour) -> Callable[[Reader, Writer], Awaitable[None]]:
    async def handle(reader: Reader, writer: Writer) -> None:
        try:
            await behaviour(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass  # the client gave up: that is what a check should do
        finally:
            writer.close()

    return handle


async def _listen(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> int:
    server = await asyncio.start_server(
        _guarded(behaviour), HOST, 0, ssl=tls, ssl_handshake_timeout=5 if tls else None
    )
    return server.sockets[0].getsockname()[1]


async def _start(role: str, cert_dir: Path) -> dict[str, int]:
    ports: dict[str, int] = {}
    if role == "hostile":
        for name, make in HOSTILE.items():
            ports[name] = await _listen(make())
        for name, cert in HOSTILE_TLS.items():
            ports[name] = await _listen(answer(OK), _tls(cert_dir, cert))
    else:
        ports["http"] = await _listen(answer(OK))
        ports["https"] = await _listen(answer(OK), _tls(cert_dir, "good"))
        ports["tcp"] = await _listen(tcp_accept)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: DnsServer(DNS_ZONES), local_addr=(HOST, 0)
        )
        ports["dns"] = transport.get_extra_info("sockname")[1]
    return ports


async def main(role: str, cert_dir: Path) -> None:
    loop = asyncio.get_running_loop()
    # Failed handshakes are the point of the TLS servers; keep them out of the log.
    loop.set_exception_handler(lambda _loop, _context: None)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    print(json.dumps(await _start(role, cert_dir)), flush=True)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
