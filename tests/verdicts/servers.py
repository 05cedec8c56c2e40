"""Loopback re-creations of blackbox_exporter's prober test servers, plus the hostile ones."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ipaddress
import socket
import ssl
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..support import free_port

# Bodies of blackbox's TestFailIfBodyMatchesRegexp / TestFailIfBodyNotMatchesRegexp.
BODIES = {
    "db-down": "Bad news: could not connect to database server",
    "download": "Download the latest version here",
    "download-copyright": "Download the latest version here. Copyright 2015 Test Inc.",
    "internal-error": "internal error",
}
GZIP_TEXT = b"hello gzip world " * 10
BIG_FILL = b"A" * 65536


def _encoded() -> dict[str, tuple[str, bytes]]:
    """name -> (Content-Encoding, body), as TestContentLength and TestHandlingOfCompressionSetting."""
    deflater = zlib.compressobj(wbits=-15)  # raw deflate, as Go's compress/flate writes it
    return {
        "gzip": ("gzip", gzip.compress(GZIP_TEXT)),
        "gzip-not-gzip": ("gzip", b"this body is plain text, not gzip " * 4),
        "gzip-over-cap": ("gzip", gzip.compress(b"A" * (2 << 20))),
        "br": ("br", brotli.compress(b"hello brotli world " * 10)),
        "deflate": ("deflate", deflater.compress(b"hello deflate world " * 10) + deflater.flush()),
        "unknown": ("xxx", b"x" * 110),
        "identity": ("identity", b"hello world" * 10),
    }


@dataclass
class Loopback:
    """Addresses of every server, by the names the case table uses in `{...}` templates."""

    urls: dict[str, str]
    ca_file: Path
    hits: list[str] = field(default_factory=list)  # paths the HTTP app served, in order


# -- the HTTP app --------------------------------------------------------------------------


def _app(hits: list[str]) -> web.Application:
    encoded = _encoded()

    @web.middleware
    async def count(request: web.Request, handler):
        hits.append(request.path)
        return await handler(request)

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    async def body(request: web.Request) -> web.Response:
        return web.Response(text=BODIES[request.match_info["name"]])

    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query["size"])
        head = request.query.get("head", "").encode()
        resp = web.StreamResponse(headers={"Content-Length": str(size)})
        await resp.prepare(request)
        await resp.write(head)
        left = size - len(head)
        try:
            while left > 0:
                await resp.write(BIG_FILL[:left])
                left -= len(BIG_FILL)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client stopped reading at its cap
        return resp

    async def chain(request: web.Request) -> web.Response:
        # /chain/N/K redirects to K+1 until K == N: exactly N redirects from /chain/N/0.
        n, k = int(request.match_info["n"]), int(request.match_info["k"])
        if k < n:
            raise web.HTTPFound(f"/chain/{n}/{k + 1}")
        return web.Response(text=f"end of a chain of {n}")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def redirect_to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def cookie_set(request: web.Request) -> web.Response:
        # blackbox's TestCookieJar: set a cookie and expect it back on the next hop.
        resp = web.HTTPFound("/cookie/check")
        resp.set_cookie("somecookie", "cookie", max_age=365 * 86400, path="/")
        raise resp

    async def cookie_check(request: web.Request) -> web.Response:
        if request.cookies.get("somecookie") == "cookie":
            return web.Response(text="cookie came back")
        return web.Response(status=400, text="no cookie")

    async def post_only(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.method == "POST" else 400)

    async def headers(request: web.Request) -> web.Response:
        # blackbox's TestHTTPHeaders, Host included.
        want = {"User-Agent": "unsuspicious-user", "Accept-Language": "en-US"}
        if request.host == "my-secret-vhost.com" and all(
            request.headers.get(k) == v for k, v in want.items()
        ):
            return web.Response(text="headers as configured")
        return web.Response(status=400, text=f"got host {request.host!r}, {dict(request.headers)}")

    async def encoded_body(request: web.Request) -> web.Response:
        encoding, payload = encoded[request.match_info["name"]]
        return web.Response(
            body=payload, headers={"Content-Encoding": encoding, "Content-Type": "text/plain"}
        )

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for piece in (b"hello ", b"chun", b"ked world"):  # the keyword spans chunks
            await resp.write(piece)
        await resp.write_eof()
        return resp

    app = web.Application(middlewares=[count])
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/body/{name}", body)
    app.router.add_get("/big", big)
    app.router.add_get("/chain/{n}/{k}", chain)
    app.router.add_get("/loop", loop)
    app.router.add_get("/redirect-to", redirect_to)
    app.router.add_get("/cookie/set", cookie_set)
    app.router.add_get("/cookie/check", cookie_check)
    app.router.add_route("*", "/post-only", post_only)
    app.router.add_get("/headers", headers)
    app.router.add_get("/encoded/{name}", encoded_body)
    app.router.add_get("/chunked", chunked)
    return app


# -- certificates --------------------------------------------------------------------------


def _cert(
    subject: str,
    san: x509.GeneralName | None,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """A certificate for `san`, or a CA certificate when `san` is None; self-signed without issuer."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=san is None, path_length=None), critical=True)
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_pair(
    directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> ssl.SSLContext:
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


def _certificates(directory: Path) -> tuple[Path, dict[str, ssl.SSLContext]]:
    """A private CA (trusted by blackbox's modules through ca_file) and one server context per case.

    `self-signed` is outside the CA, so it is untrusted for both probers; `expired` and
    `wrong-host` are signed by the CA, so blackbox fails them for exactly that one reason.
    """
    now = dt.datetime.now(dt.UTC)
    year = dt.timedelta(days=365)
    loopback_ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("vigil verdicts test CA", None, ca_key, None, now - year, now + year)
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    specs = {
        "self-signed": (loopback_ip, None, now - dt.timedelta(days=1), now + year),
        "expired": (loopback_ip, (ca, ca_key), now - year, now - dt.timedelta(days=1)),
        "wrong-host": (
            x509.DNSName("wrong-host.invalid"),
            (ca, ca_key),
            now - dt.timedelta(days=1),
            now + year,
        ),
    }
    contexts = {}
    for name, (san, issuer, not_before, not_after) in specs.items():
        key = ec.generate_private_key(ec.SECP256R1())
        contexts[name] = _write_pair(
            directory, name, _cert(name, san, key, issuer, not_before, not_after), key
        )
    return ca_file, contexts


# -- raw servers: what no well-behaved HTTP framework would send ---------------------------


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _reset_after_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _reset(writer)


async def _reset_in_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    await writer.drain()
    _reset(writer)


async def _fin_in_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    await writer.drain()
    writer.close()


async def _closed_without_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await _read_request(reader)
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


async def _http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # HTTP/1.0 with neither Content-Length nor chunking: the body ends when the server closes.
    await _read_request(reader)
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from http/1.0")
    await writer.drain()
    writer.close()


async def _close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
RAW: dict[str, Handler] = {
    "reset_after_accept": _reset_after_accept,
    "reset_in_body": _reset_in_body,
    "fin_in_body": _fin_in_body,
    "closed_without_answer": _closed_without_answer,
    "garbage": _garbage,
    "http10": _http10,
}


@asynccontextmanager
async def loopback_servers(directory: Path) -> AsyncIterator[Loopback]:
    """Every server the cases name, on 127.0.0.1 (and ::1 for the IPv6 cases), for the block."""
    hits: list[str] = []
    held: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, then say nothing

    ca_file, tls = _certificates(directory)
    urls: dict[str, str] = {}
    async with AsyncExitStack() as stack:
        runner = web.AppRunner(_app(hits), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)

        async def site(name: str, scheme: str, ctx: ssl.SSLContext | None = None) -> None:
            s = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
            await s.start()
            urls[name] = f"{scheme}://127.0.0.1:{s._server.sockets[0].getsockname()[1]}"

        await site("http", "http")
        for name, ctx in tls.items():
            await site("https_" + name.replace("-", "_"), "https", ctx)

        async def raw(handler: Handler, host: str = "127.0.0.1") -> str:
            srv = await asyncio.start_server(handler, host, 0)
            stack.callback(srv.close)
            port = srv.sockets[0].getsockname()[1]
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        for name, handler in RAW.items():
            urls[name] = "http://" + await raw(handler)
        urls["hang"] = "http://" + await raw(hang)
        urls["tcp"] = await raw(_close_at_once)
        urls["tcp6"] = await raw(_close_at_once, "::1")
        urls["closed"] = f"127.0.0.1:{free_port()}"
        try:
            yield Loopback(urls=urls, ca_file=ca_file, hits=hits)
        finally:
            for w in held:
                w.close()
