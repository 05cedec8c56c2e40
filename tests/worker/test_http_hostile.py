"""The HTTP check against servers that misbehave on the wire: each one ends as a precise verdict.

The servers write raw bytes (asyncio streams, not aiohttp.web), so they can send what no
well-behaved framework would: resets mid-body, garbage, oversized headers, bodies whose
Content-Encoding lies, and header bytes that are not UTF-8.
"""

from __future__ import annotations

import asyncio
import fcntl
import gzip
import socket
import struct
import termios
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import brotli
import pytest

from vigil_worker.checks import CheckContext, run_check

from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)

Writer = asyncio.StreamWriter
Handler = Callable[[asyncio.StreamReader, Writer], Awaitable[None]]

PAGE = b"<html>the needle is here</html>"
KEYWORD = {"keyword": "needle"}


def _head(status: str = "200 OK", *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def _sized(body: bytes, *headers: str) -> bytes:
    return _head("200 OK", f"Content-Length: {len(body)}", *headers) + body


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


async def _until_acked(writer: Writer, deadline_s: float = 5.0) -> None:
    """Wait until the peer's kernel has acknowledged everything written (the send queue is
    empty), so a reset that follows cannot overtake the bytes before it."""
    await writer.drain()
    sock = writer.get_extra_info("socket")
    end = time.monotonic() + deadline_s
    while struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]:
        assert time.monotonic() < end, "the client did not acknowledge the data"
        await asyncio.sleep(0.001)


def _reset(writer: Writer) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # close() with a zero linger time sends RST instead of FIN


def send(data: bytes, then: str = "wait") -> Handler:
    """Write `data`, then "wait" for the client to close, "close" (FIN) or "reset" (RST)."""

    async def handle(reader: asyncio.StreamReader, writer: Writer) -> None:
        writer.write(data)
        if then == "reset":
            await _until_acked(writer)
            _reset(writer)
            return
        await writer.drain()
        if then == "close":
            writer.close()
            return
        await asyncio.wait_for(reader.read(), 30)  # the check closes its connection when done
        writer.close()

    return handle


def endless(head: bytes, block: bytes) -> Handler:
    """`head`, then `block` over and over until the client goes away."""

    async def handle(reader: asyncio.StreamReader, writer: Writer) -> None:
        writer.write(head)
        try:
            for _ in range(1 << 20):  # bounded: 64 GiB of 64 KiB blocks is far past any cap
                writer.write(block)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the check stopped reading, as it should
        writer.close()

    return handle


async def _reset_at_once(reader: asyncio.StreamReader, writer: Writer) -> None:
    _reset(writer)


BIG = b"a" * 200_000
# A gzip member of 16 MiB of zeros (16 KiB on the wire), sent again and again: an endless bomb.
BOMB_MEMBER = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
# The keyword straddles the first 64 KiB piece: the search must keep the overlap.
STRADDLE = b"a" * (65536 - 3) + b"needle" + b"b" * 100
GZIP = gzip.compress(PAGE)

ROUTES: dict[str, Handler] = {
    # resets and closes, before and after the answer's head
    "/reset-at-accept": _reset_at_once,
    "/close-at-accept": send(b"", then="close"),
    "/reset-body-length": send(_head("200 OK", "Content-Length: 100000") + b"x" * 1000, "reset"),
    "/reset-body-chunked": send(
        _head("200 OK", "Transfer-Encoding: chunked") + b"3e8\r\n" + b"x" * 1000 + b"\r\n", "reset"
    ),
    "/reset-body-at-close": send(_head("200 OK", "Connection: close") + b"x" * 1000, "reset"),
    "/close-body-length": send(_head("200 OK", "Content-Length: 100000") + b"x" * 1000, "close"),
    "/silence-after-head": send(_head("200 OK", "Content-Length: 10")),
    # not HTTP at all, or too much of it
    "/garbage": send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n"),
    "/garbage-binary": send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64),
    "/header-line-100k": send(_head("200 OK", "X-Big: " + "a" * 100_000, "Content-Length: 0")),
    "/headers-100k": send(
        _head("200 OK", *(f"X-{i}: {'b' * 40}" for i in range(2_000)), "Content-Length: 0")
    ),
    "/bad-chunk-size": send(_head("200 OK", "Transfer-Encoding: chunked") + b"zz\r\nabc\r\n"),
    # content codings: real ones, lies, and ones nothing here decodes
    "/gzip": send(_sized(GZIP, "Content-Encoding: gzip")),
    "/x-gzip": send(_sized(GZIP, "Content-Encoding: x-gzip")),
    "/gzip-members": send(
        _sized(gzip.compress(b"first member, ") + GZIP, "Content-Encoding: gzip")
    ),
    "/gzip-not-gzip": send(_sized(b"this is plain text, not gzip", "Content-Encoding: gzip")),
    "/gzip-truncated": send(_sized(gzip.compress(BIG)[:200], "Content-Encoding: gzip")),
    "/deflate-zlib": send(_sized(zlib.compress(PAGE), "Content-Encoding: deflate")),
    "/deflate-raw": send(_sized(_raw_deflate(PAGE), "Content-Encoding: deflate")),
    "/br": send(_sized(brotli.compress(PAGE), "Content-Encoding: br")),
    "/br-not-br": send(_sized(b"\xff" * 64, "Content-Encoding: br")),
    "/zstd": send(_sized(b"(\xb5/\xfd not really zstd", "Content-Encoding: zstd")),
    "/gzip-then-br": send(_sized(brotli.compress(GZIP), "Content-Encoding: gzip, br")),
    "/made-up-coding": send(_sized(PAGE, "Content-Encoding: x-vigil-secret")),
    "/straddle": send(_sized(STRADDLE)),
    "/straddle-gzip": send(_sized(gzip.compress(STRADDLE), "Content-Encoding: gzip")),
    "/absent-late-gzip": send(
        _sized(gzip.compress(b"ok " * 100_000 + b"error"), "Content-Encoding: gzip")
    ),
    # 2 MiB once decoded (2 KiB on the wire): the cap counts decoded bytes
    "/gzip-2mib": send(
        _sized(gzip.compress(b"\0" * (2 << 20) + b"needle"), "Content-Encoding: gzip")
    ),
    "/gzip-bomb": endless(_head("200 OK", "Content-Encoding: gzip"), BOMB_MEMBER),
    # redirects that cannot be followed
    "/location-not-utf8": send(
        _head("302 Found", "Content-Length: 0")[:-2] + b"Location: /caf\xe9\xff\r\n\r\n"
    ),
    "/location-host-not-utf8": send(
        _head("301 Moved", "Content-Length: 0")[:-2]
        + b"Location: http://caf\xe9\xff.example/\r\n\r\n"
    ),
    "/location-ftp": send(
        _head("302 Found", "Location: ftp://127.0.0.1/file", "Content-Length: 0")
    ),
    "/location-javascript": send(
        _head("301 Moved", "Location: javascript:alert(1)", "Content-Length: 0")
    ),
    "/location-file": send(
        _head("307 Temporary", "Location: file:///etc/passwd", "Content-Length: 0")
    ),
    "/location-missing": send(_head("302 Found", "Content-Length: 0")),
    "/location-empty": send(_head("302 Found", "Location: ", "Content-Length: 0")),
    "/location-bad-port": send(
        _head("302 Found", "Location: http://127.0.0.1:99999/", "Content-Length: 0")
    ),
    # bytes that are not UTF-8 in a cookie and a status reason: the check goes on
    "/cookie-not-utf8": send(
        _head("302 Found", "Location: /gzip", "Content-Length: 0")[:-2]
        + b"Set-Cookie: s=\xff\xfe; Path=/\r\n\r\n"
    ),
    "/reason-not-utf8": send(b"HTTP/1.1 503 \xff\xfe\x00Down\r\nContent-Length: 0\r\n\r\n"),
}


NOT_FOUND = send(_head("404 Not Found", "Content-Length: 0"))


@dataclass
class Hostile:
    base: str

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
async def hostile() -> AsyncIterator[Hostile]:
    async def dispatch(reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            handler = ROUTES.get(head.split(b" ", 2)[1].decode(), NOT_FOUND)
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            writer.close()

    server = await asyncio.start_server(dispatch, "127.0.0.1", 0)
    yield Hostile(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    server.close()


# (id, path, timeout, settings, ok, error_class, status_code the server sent)
CASES = [
    ("reset-at-accept", "/reset-at-accept", 5, {}, False, "reset", None),
    ("close-at-accept", "/close-at-accept", 5, {}, False, "disconnected", None),
    ("reset-in-body-with-length", "/reset-body-length", 5, {}, False, "reset", 200),
    ("reset-in-chunked-body", "/reset-body-chunked", 5, {}, False, "reset", 200),
    ("reset-in-body-ended-by-close", "/reset-body-at-close", 5, {}, False, "reset", 200),
    ("close-in-body-with-length", "/close-body-length", 5, {}, False, "disconnected", 200),
    ("silence-after-head", "/silence-after-head", 0.5, {}, False, "timeout", None),
    ("garbage", "/garbage", 5, {}, False, "http", None),
    ("garbage-binary", "/garbage-binary", 5, {}, False, "http", None),
    ("header-line-100k", "/header-line-100k", 5, {}, False, "http", None),
    ("headers-100k", "/headers-100k", 5, {}, False, "http", None),
    ("bad-chunk-size", "/bad-chunk-size", 5, {}, False, "http", None),
    ("gzip", "/gzip", 5, KEYWORD, True, None, 200),
    ("x-gzip", "/x-gzip", 5, KEYWORD, True, None, 200),
    (
        "gzip-members",
        "/gzip-members",
        5,
        {"keyword": "first member, <html>the needle"},
        True,
        None,
        200,
    ),
    ("gzip-not-gzip", "/gzip-not-gzip", 5, {}, False, "decode", 200),
    ("gzip-not-gzip-keyword", "/gzip-not-gzip", 5, KEYWORD, False, "decode", 200),
    ("gzip-truncated", "/gzip-truncated", 5, {}, False, "decode", 200),
    ("deflate-zlib", "/deflate-zlib", 5, KEYWORD, True, None, 200),
    ("deflate-raw", "/deflate-raw", 5, KEYWORD, True, None, 200),
    ("brotli", "/br", 5, KEYWORD, True, None, 200),
    ("brotli-not-brotli", "/br-not-br", 5, {}, False, "decode", 200),
    ("zstd-no-body-rule", "/zstd", 5, {}, True, None, 200),
    ("zstd-keyword", "/zstd", 5, KEYWORD, False, "decode", 200),
    ("stacked-codings-no-body-rule", "/gzip-then-br", 5, {}, True, None, 200),
    (
        "stacked-codings-keyword-absent",
        "/gzip-then-br",
        5,
        {"keyword_absent": "x"},
        False,
        "decode",
        200,
    ),
    ("made-up-coding-no-body-rule", "/made-up-coding", 5, {}, True, None, 200),
    ("keyword-straddles-pieces", "/straddle", 5, KEYWORD, True, None, 200),
    ("keyword-straddles-decoded-pieces", "/straddle-gzip", 5, KEYWORD, True, None, 200),
    (
        "absent-keyword-late-in-gzip",
        "/absent-late-gzip",
        5,
        {"keyword_absent": "error"},
        False,
        "keyword",
        200,
    ),
    ("cap-counts-decoded-bytes", "/gzip-2mib", 5, KEYWORD, False, "body_too_large", 200),
    ("gzip-bomb-keyword", "/gzip-bomb", 5, KEYWORD, False, "body_too_large", 200),
    (
        "gzip-bomb-keyword-absent",
        "/gzip-bomb",
        5,
        {"keyword_absent": "x"},
        False,
        "body_too_large",
        200,
    ),
    ("gzip-bomb-no-body-rule", "/gzip-bomb", 5, {}, True, None, 200),
    ("location-not-utf8", "/location-not-utf8", 5, {}, False, "redirect", 302),
    ("location-host-not-utf8", "/location-host-not-utf8", 5, {}, False, "redirect", 301),
    ("location-ftp", "/location-ftp", 5, {}, False, "redirect", 302),
    ("location-javascript", "/location-javascript", 5, {}, False, "redirect", 301),
    ("location-file", "/location-file", 5, {}, False, "redirect", 307),
    # a 3xx without a Location is the final answer, judged by the status rule (RFC 9110)
    ("location-missing", "/location-missing", 5, {}, True, None, 302),
    (
        "location-missing-2xx-expected",
        "/location-missing",
        5,
        {"expected_status": ["2xx"]},
        False,
        "status",
        302,
    ),
    ("location-empty", "/location-empty", 5, {}, False, "redirect", 302),
    ("location-bad-port", "/location-bad-port", 5, {}, False, "redirect", 302),
    ("cookie-not-utf8", "/cookie-not-utf8", 5, KEYWORD, True, None, 200),
    ("reason-not-utf8", "/reason-not-utf8", 5, {}, False, "status", 503),
]


@pytest.mark.parametrize(
    "path, timeout, settings, ok, error_class, status",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_hostile_server(
    hostile: Hostile, ctx: CheckContext, path, timeout, settings, ok, error_class, status
) -> None:
    started = time.perf_counter()
    outcome = await run_check(target("http", hostile.url(path), timeout, **settings), ctx)
    assert (outcome.ok, outcome.error_class, outcome.status_code) == (ok, error_class, status), (
        outcome.error_message
    )
    assert time.perf_counter() - started < timeout + 1.0
    if not ok:
        message = outcome.error_message
        assert message and "\x00" not in message
        message.encode("utf-8")  # no lone surrogates: PostgreSQL takes it
        # aiohttp's parser errors carry a status 400 nobody sent; the message must not
        assert "400" not in message, message


async def test_decode_failure_says_what_happened(hostile: Hostile, ctx: CheckContext) -> None:
    outcome = await run_check(target("http", hostile.url("/gzip-not-gzip"), 5), ctx)
    assert outcome.error_class == "decode"
    assert "gzip" in outcome.error_message and "decode" in outcome.error_message


@pytest.mark.parametrize("path", ["/location-not-utf8", "/location-host-not-utf8"])
async def test_unusable_location_is_stored_by_postgresql(
    hostile: Hostile, ctx: CheckContext, db: asyncpg.Connection, path: str
) -> None:
    outcome = await run_check(target("http", hostile.url(path), 5), ctx)
    assert outcome.error_class == "redirect"
    assert await db.fetchval("SELECT $1::text", outcome.error_message) == outcome.error_message
    assert r"\xe9\xff" in outcome.error_message  # the bytes are shown, not lost
