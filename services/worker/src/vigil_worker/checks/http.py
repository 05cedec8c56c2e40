"""HTTP(S) checks with aiohttp: redirects followed hop by hop, phase timings, a bounded body read.

Redirects are followed here rather than by aiohttp, so the limit, the method rules, a cookie jar
that lives for one check and the headers another origin may see are decided in one place.
Bodies are read raw and decoded here in pieces of at most 16 KiB: the body cap counts decoded
bytes, a gzip bomb is never inflated further than the cap, a keyword is searched with a rolling
window (an RE2 pattern and the JSON conditions over the body read so far, at most the cap), and a
body that does not decode is `decode` with the status the server really sent.

Phases (DNS, TCP connect, TLS, first byte) are marked by the session's resolver and connector
and by the check itself, into the probe of the check running in the task. The connector marks
the moment the socket is connected (asyncio calls the protocol factory then, before the
handshake), which splits the connect from the TLS handshake.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import socket
import ssl
import time
import zlib
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
import brotli
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDict
from yarl import URL

from vigil_core.kinds import HttpSettings, StatusRule
from vigil_core.text import storable

from . import conditions
from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure, ms
from .tcp import connect_nonblocking
from .tls import certificate_facts, certificate_not_after, expiring, facts_details

# Exactly what the decoders below undo; a server may still send anything.
ACCEPT_ENCODING = "gzip, deflate, br"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Raw reads, aiohttp's read buffer and decoded pieces are at most this long.
_PIECE = 1 << 14
# The receive buffer of a check's socket. Otherwise the event loop reads up to 256 KiB at a time
# from each socket: 1,000 checks reading endless bodies grew the RSS by 175-290 MB, against
# 35-110 MB with this bound (tests/worker/test_http_memory.py). The price is a TCP window of
# about 64 KiB, which slows only bodies much larger than that over long round trips, and the
# body cap bounds how much of such a body is read.
_RCVBUF = 1 << 16
_GZIP_WBITS = 16 + zlib.MAX_WBITS


@dataclass(slots=True)
class _Probe:
    """One check's view of its connections: the current hop's phase marks, the latest peer
    certificate and the current connection's `closed` future (a reset or a clean close)."""

    started: float = field(default_factory=time.perf_counter)
    hop_started: float = 0.0
    marks: dict[str, float] = field(default_factory=dict)
    peer_cert: bytes | None = None
    closed: asyncio.Future[None] | None = None

    def next_hop(self) -> None:
        self.hop_started, self.marks, self.closed = time.perf_counter(), {}, None

    def lost(self) -> bool:
        """Whether the current connection is gone (the peer closed or reset it)."""
        return self.closed is not None and self.closed.done()

    def reset(self) -> bool:
        """Whether the peer reset the current connection (aiohttp keeps the cause only here)."""
        closed = self.closed
        if closed is None or not closed.done() or closed.cancelled():
            return False
        exc = closed.exception()
        return exc is not None and isinstance(exc.__cause__, ConnectionResetError)

    def timings(self, tls: bool) -> dict[str, float]:
        """The last hop's phases, and `total` over the whole redirect chain."""
        marks, out = self.marks, {}
        if "dns_start" in marks and "dns_end" in marks:
            out["dns"] = ms(marks["dns_end"] - marks["dns_start"])
        connect_from = marks.get("dns_end", marks.get("conn_start"))
        if connect_from is not None and "tcp_done" in marks:
            out["connect"] = ms(marks["tcp_done"] - connect_from)
            if tls and "conn_end" in marks:
                out["tls"] = ms(marks["conn_end"] - marks["tcp_done"])
        if "headers" in marks:
            out["ttfb"] = ms(marks["headers"] - self.hop_started)
        out["total"] = ms(time.perf_counter() - self.started)
        return out


# The probe of the check running in this task (None outside a check).
_PROBE: ContextVar[_Probe | None] = ContextVar("vigil_http_probe", default=None)


class _TimedConnector(aiohttp.TCPConnector):
    """aiohttp's connector, marking the check's phases in its probe and connecting a single
    address without uvloop's `sock_connect`.

    The marks are taken here rather than through an aiohttp TraceConfig: a trace costs every
    request a Trace object and a coroutine per signal (44 more Python calls per check, about a
    tenth of the check), and its "connection create" phase is connect and TLS as one. So this
    overrides two of aiohttp's private methods, because no public hook can do it:
    `_create_connection` (connect and TLS, from the pool's slot to a ready connection) and
    `_wrap_create_connection` (the socket connect, then TLS; by the time a response is returned
    a short body has released the connection, so the peer certificate and the `closed` future
    must be taken here too). The lookup's marks come from `_TimedResolver`.
    """

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        probe = _PROBE.get()
        if probe is None:
            return await super()._create_connection(req, traces, timeout)
        probe.marks["conn_start"] = time.perf_counter()
        protocol = await super()._create_connection(req, traces, timeout)
        probe.marks["conn_end"] = time.perf_counter()
        return protocol

    async def _wrap_create_connection(  # type: ignore[override]
        self, factory: Any, *args: Any, addr_infos: list[Any], req: Any, timeout: Any, **kwargs: Any
    ) -> Any:
        probe = _PROBE.get()
        if probe is None:
            return await super()._wrap_create_connection(
                factory, *args, addr_infos=addr_infos, req=req, timeout=timeout, **kwargs
            )
        marks = probe.marks

        def timed_factory() -> Any:
            marks["tcp_done"] = time.perf_counter()
            return factory()

        if len(addr_infos) == 1 and timeout.sock_connect is None and not args:
            transport, protocol = await self._connect_one(
                timed_factory, addr_infos[0], req, **kwargs
            )
        else:  # several addresses (aiohappyeyeballs races them), or a connect timeout of aiohttp's
            transport, protocol = await super()._wrap_create_connection(
                timed_factory, *args, addr_infos=addr_infos, req=req, timeout=timeout, **kwargs
            )
        # Read now: a short body is consumed and the connection released before we look.
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            probe.peer_cert = ssl_object.getpeercert(binary_form=True)  # also when unverified
        probe.closed = protocol.closed
        if probe.closed is not None:
            probe.closed.add_done_callback(_retrieve)
        return transport, protocol

    async def _connect_one(
        self,
        factory: Any,
        addr_info: tuple[Any, ...],
        req: Any,
        *,
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> Any:
        """What aiohttp does with one address (aiohappyeyeballs connects it alone, then the
        loop wraps the socket), with the same errors, but connecting the socket with
        `connect_nonblocking`: uvloop's `sock_connect` resolves the IP address again on every
        connect (about 50 µs of a 190 µs loopback connect, bench/README.md)."""
        try:
            sock = _socket(addr_info)
            await connect_nonblocking(self._loop, sock, addr_info[4])  # closes it if it fails
            return await self._loop.create_connection(factory, sock=sock, **kwargs)
        except ssl.CertificateError as exc:
            raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        except ssl.SSLError as exc:
            raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # a reset nobody asked about is not "never retrieved"


class _TimedResolver(AbstractResolver):
    """The session's resolver, marking the lookup's start and end in the check's probe.

    aiohttp asks it only when its DNS cache misses, in a task shared by the requests waiting
    for the same host, which runs in the context of the check that started it: that check's
    timings get `dns`, as they did from aiohttp's trace signals.
    """

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        probe = _PROBE.get()
        if probe is not None:
            probe.marks["dns_start"] = time.perf_counter()
        found = await self._inner.resolve(host, port, family)
        if probe is not None:
            probe.marks["dns_end"] = time.perf_counter()
        return found

    async def close(self) -> None:
        await self._inner.close()


def new_session(resolver: AbstractResolver) -> aiohttp.ClientSession:
    """The session every HTTP check shares (KIND's start hook makes it, its stop hook closes it).

    Names are looked up with `resolver` (the worker passes its async one), which the caller
    owns and closes.
    """
    # force_close: every check opens its own connection, so connect failures and connect/TLS
    # time are seen each time. limit=0: the scheduler bounds concurrency, not the connector.
    # The DNS cache is short: checks measure resolution at least every 10 s per host.
    connector = _TimedConnector(
        force_close=True,
        limit=0,
        ttl_dns_cache=10,
        resolver=_TimedResolver(resolver),
        socket_factory=_socket,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),  # the caller owns the deadline
        read_bufsize=_PIECE,
        auto_decompress=False,  # _decoder() below, bounded and with honest errors
        cookie_jar=aiohttp.DummyCookieJar(),  # each check has a jar of its own (_follow)
    )


def _socket(addr_info: tuple[Any, ...]) -> socket.socket:
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)  # before connect: sets the window
    return sock


def status_ok(status: int, expected: Sequence[StatusRule]) -> bool:
    """Whether `status` matches one of the expected codes or "2xx"-style classes."""
    for rule in expected:
        if isinstance(rule, int) and status == rule:
            return True
        if (
            isinstance(rule, str)
            and len(rule) == 3
            and rule[1:] == "xx"
            and str(status)[0] == rule[0]
        ):
            return True
    return False


# -- the check: one hop after another ---------------------------------------------------------

_TRANSPORT_ERRORS = (aiohttp.ClientError, OSError)


@dataclass(slots=True, frozen=True)
class _Hop:
    method: str
    url: URL
    body: bytes | None


async def check_http(target: ClaimedTarget[HttpSettings], ctx: CheckContext) -> Outcome:
    probe = _Probe()
    token = _PROBE.set(probe)
    try:
        outcome = await _follow(target, ctx, probe)
    except _TRANSPORT_ERRORS as exc:
        outcome = _error(exc, probe)
    finally:
        _PROBE.reset(token)
    if probe.peer_cert is not None:
        # The last hop's certificate, for the target page; its expiry unless the check set one.
        facts = certificate_facts(probe.peer_cert)
        if facts is not None:
            outcome.details = {"tls": facts_details(facts, datetime.now(UTC))}
        if outcome.tls_expires_at is None:
            outcome.tls_expires_at = (
                facts.not_after if facts else certificate_not_after(probe.peer_cert)
            )
    min_days = target.settings.tls_min_days_valid
    if outcome.ok and min_days is not None:
        outcome = _certificate_rule(outcome, min_days, target.address)
    if outcome.error_message is not None:
        outcome.error_message = storable(outcome.error_message)  # a target wrote part of it
    return outcome


def _certificate_rule(outcome: Outcome, min_days: int, address: str) -> Outcome:
    """A successful answer over a certificate with fewer than `min_days` days left is
    `expiring` (the tls kind's rule); its status, timings and latency stay as they were."""
    expires = outcome.tls_expires_at
    if expires is None:
        if address[:6].lower() != "https:":
            return outcome  # plain HTTP all the way: there is no certificate to judge
        why = "the certificate's expiry cannot be read, so tls_min_days_valid cannot be checked"
        return replace(outcome, ok=False, error_class="tls", error_message=why)
    message = expiring(URL(address).host or address, expires, min_days, datetime.now(UTC))
    if message is None:
        return outcome
    return replace(outcome, ok=False, error_class="expiring", error_message=message)


async def _follow(target: ClaimedTarget[HttpSettings], ctx: CheckContext, probe: _Probe) -> Outcome:
    """Request hop after hop until an answer that is not a redirect to follow, and judge it."""
    settings = target.settings
    hop = _first_hop(target.address, settings)
    if isinstance(hop, Outcome):
        return hop
    session, cap = ctx.resource(KIND), ctx.settings.worker_http_body_cap_bytes
    home = _origin(hop.url)
    custom = settings.headers
    limit = settings.max_redirects if settings.follow_redirects else 0
    # Made at the first Set-Cookie: most checks never see one, and a jar is not free.
    jar: aiohttp.CookieJar | None = None
    outcome: Outcome | _Hop
    for followed in itertools.count():
        probe.next_hop()
        headers = _headers(custom if _origin(hop.url) == home else {}, jar, hop.url)
        async with session.request(
            hop.method,
            hop.url,
            headers=headers,
            data=hop.body,
            allow_redirects=False,
            ssl=settings.verify_tls,
        ) as resp:
            probe.marks["headers"] = time.perf_counter()
            set_cookies = resp.headers.getall(hdrs.SET_COOKIE, ())
            if set_cookies:
                if jar is None:
                    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: IP-address hosts too
                jar.update_cookies_from_headers(set_cookies, resp.url)
            # A 3xx without a Location is a final answer (RFC 9110 15.4; browsers, Go and
            # blackbox_exporter agree), judged by the status rule like any other.
            if limit == 0 or resp.status not in _REDIRECTS or hdrs.LOCATION not in resp.headers:
                outcome = await _verdict(resp, settings, cap, probe)
            elif followed == limit:
                outcome = failure(
                    "too_many_redirects",
                    f"more than {limit} redirects (the last one from {hop.url})",
                )
            else:
                outcome = _redirect(hop, resp)
            if isinstance(outcome, Outcome):
                outcome.status_code = resp.status
                outcome.timings = probe.timings(tls=resp.url.scheme == "https")
                if outcome.ok:
                    outcome.latency_ms = outcome.timings["total"]
                return outcome
        hop = outcome
    raise AssertionError("unreachable")  # itertools.count() does not end


def _first_hop(address: str, settings: HttpSettings) -> _Hop | Outcome:
    try:
        url = URL(address)
    except ValueError as exc:
        return failure("url", f"invalid URL {address!r}: {exc}")
    if url.scheme not in ("http", "https") or not url.host:
        return failure("url", f"invalid URL {address!r}: not an http(s) URL with a host")
    body = settings.body
    return _Hop(settings.method, url, body.encode() if body is not None else None)


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.host, url.port


def _headers(custom: dict[str, str], jar: aiohttp.CookieJar | None, url: URL) -> CIMultiDict[str]:
    """This hop's request headers: the target's own (only towards its origin) and the jar's cookies."""
    headers = CIMultiDict(custom)
    headers.setdefault(hdrs.ACCEPT_ENCODING, ACCEPT_ENCODING)
    if jar is None:
        return headers
    # A cookie a server sent with bytes that are not UTF-8 cannot be written back; leave it out.
    cookies = "; ".join(
        f"{m.key}={m.coded_value}"
        for m in jar.filter_cookies(url).values()
        if _is_utf8(m.key + m.coded_value)
    )
    if cookies:
        headers[hdrs.COOKIE] = (
            f"{headers[hdrs.COOKIE]}; {cookies}" if hdrs.COOKIE in headers else cookies
        )
    return headers


def _redirect(hop: _Hop, resp: aiohttp.ClientResponse) -> _Hop | Outcome:
    """The hop a redirect leads to, or the `redirect` failure when it cannot be followed."""
    status = resp.status
    location = resp.headers.get(hdrs.LOCATION, "")
    if not location.strip():
        return failure("redirect", f"{status} redirect with an empty Location")
    if not _is_utf8(location):
        # aiohttp decodes header bytes that are not UTF-8 to lone surrogates; show the bytes.
        raw = location.encode("utf-8", "surrogateescape")
        return failure("redirect", f"{status} redirect to a Location that is not UTF-8: {raw!r}")
    try:
        url = hop.url.join(URL(location)).with_fragment(None)
    except ValueError as exc:
        return failure("redirect", f"{status} redirect to {location!r}, which is not a URL: {exc}")
    if url.scheme not in ("http", "https") or not url.host:
        return failure(
            "redirect", f"{status} redirect to {location!r}, which is not an http(s) URL"
        )
    # As browsers and aiohttp do: 303 turns into GET (a HEAD stays HEAD), and so do 301 and
    # 302 for a POST; 307 and 308 repeat the method and body.
    if status == 303 or (status in (301, 302) and hop.method == "POST"):
        return _Hop("HEAD" if hop.method == "HEAD" else "GET", url, None)
    return _Hop(hop.method, url, hop.body)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- the answer: status, then the body rules --------------------------------------------------


async def _verdict(
    resp: aiohttp.ClientResponse, settings: HttpSettings, cap: int, probe: _Probe
) -> Outcome:
    if not status_ok(resp.status, settings.expected_status):
        return failure("status", f"unexpected status {resp.status}")
    rules = _body_rules(settings)
    if isinstance(rules, Outcome):
        return rules
    try:
        failed = await _judge_body(resp, rules, cap, probe)
    except _TRANSPORT_ERRORS as exc:
        return _error(exc, probe)
    return failed or Outcome(ok=True)


async def _judge_body(
    resp: aiohttp.ClientResponse, rules: _BodyRules, cap: int, probe: _Probe
) -> Outcome | None:
    """Read the decoded body up to `cap` bytes (less once the rules are decided); None when it passes."""
    coding = resp.headers.get(hdrs.CONTENT_ENCODING, "")
    decoder = _decoder(coding)
    if decoder is None:
        # Nothing here can undo it. Only a body rule needs the text, so only then is it a failure.
        return (
            failure("decode", f"cannot decode Content-Encoding {coding!r}")
            if rules.wanted
            else None
        )
    seen, truncated, complete = 0, False, False
    try:
        async with aclosing(_decoded(resp.content, decoder)) as pieces:
            async for piece in pieces:
                if len(piece) > cap - seen:
                    piece, truncated = piece[: cap - seen], True
                seen += len(piece)
                rules.feed(piece)
                if truncated or rules.decided:
                    break
            else:
                if _ends_at_close(resp) and probe.reset():
                    return failure("reset", "connection reset by peer while reading the body")
                complete = True
    except _DecodeError as exc:
        return failure("decode", f"the body does not decode as Content-Encoding {coding!r}: {exc}")
    rules.finish(complete)
    return rules.verdict(truncated, cap)


def _ends_at_close(resp: aiohttp.ClientResponse) -> bool:
    """Whether only the close marks the body's end (no length, not chunked): a reset then
    looks like the end to aiohttp, and the probe has to tell."""
    chunked = "chunked" in resp.headers.get(hdrs.TRANSFER_ENCODING, "").lower()
    return hdrs.CONTENT_LENGTH not in resp.headers and not chunked


class _Search:
    """Finds a plain keyword in a stream of pieces, keeping only len(keyword) - 1 bytes between them."""

    __slots__ = ("keyword", "found", "_needle", "_tail")
    what = "keyword"

    def __init__(self, keyword: str) -> None:
        self.keyword, self.found = keyword, False
        self._needle, self._tail = keyword.encode(), b""

    def feed(self, piece: bytes) -> None:
        if self.found:
            return
        window = self._tail + piece
        self.found = self._needle in window
        keep = len(self._needle) - 1
        self._tail = window[-keep:] if keep and not self.found else b""

    def finish(self, complete: bool) -> None:
        pass


class _RegexSearch:
    """Searches an RE2 pattern in the body read so far (up to the cap, held by _BodyRules).

    The whole body rather than a window: a match may be of any length and span any number of
    pieces, and ^ and $ mean the body's start and end. It searches again each time the body
    has doubled, so a match early in a long body still ends the read, and the work stays
    linear in the body; and once more at the end.
    """

    __slots__ = ("keyword", "found", "_pattern", "_body", "_next")
    what = "keyword pattern"

    def __init__(self, keyword: str, pattern: Any, body: bytearray) -> None:
        self.keyword, self.found = keyword, False
        self._pattern, self._body, self._next = pattern, body, _PIECE

    def feed(self, piece: bytes) -> None:
        if not self.found and len(self._body) >= self._next:
            self._next = 2 * len(self._body)
            self._search(complete=False)

    def finish(self, complete: bool) -> None:
        if not self.found:
            self._search(complete)

    def _search(self, complete: bool) -> None:
        match = self._pattern.search(self._body)
        # Before the end, a match reaching the last byte read may hang on what follows it
        # ($, \b): only one that ends earlier is a match in the whole body too.
        self.found = match is not None and (complete or match.end() < len(self._body))


def _body_rules(settings: HttpSettings) -> _BodyRules | Outcome:
    """The check's body rules (patterns and paths compiled once per target, then cached), or
    the failure of settings that do not compile."""
    try:
        rules = _BodyRules(settings)
    except conditions.PatternError as exc:
        return failure("keyword", f"keyword: {exc}")
    if rules.json is not None and rules.json.error is not None:
        return failure("json", rules.json.error)
    return rules


class _BodyRules:
    """`keyword` (must appear) and `keyword_absent` (must not), plain or RE2 patterns, searched
    as the body streams; and the JSON conditions, which need the whole body."""

    def __init__(self, settings: HttpSettings) -> None:
        self.json = conditions.compiled(settings.json) if settings.json else None
        # Only RE2 patterns and JSON need what was read so far; plain keywords keep a window.
        needs_body = self.json is not None or (
            settings.keyword_regex and bool(settings.keyword or settings.keyword_absent)
        )
        self.body = bytearray() if needs_body else None
        self.present = self._search(settings.keyword, settings.keyword_regex)
        self.absent = self._search(settings.keyword_absent, settings.keyword_regex)
        self._searches = tuple(s for s in (self.present, self.absent) if s is not None)

    def _search(self, keyword: str | None, regex: bool) -> _Search | _RegexSearch | None:
        if not keyword:
            return None
        if not regex:
            return _Search(keyword)
        assert self.body is not None
        return _RegexSearch(keyword, conditions.compile_regex(keyword), self.body)

    @property
    def wanted(self) -> bool:
        return bool(self._searches) or self.json is not None

    def feed(self, piece: bytes) -> None:
        if self.body is not None:
            self.body += piece
        for search in self._searches:
            search.feed(piece)

    def finish(self, complete: bool) -> None:
        """The body ended (`complete`) or stopped being read."""
        for search in self._searches:
            search.finish(complete)

    @property
    def decided(self) -> bool:
        """Whether more of the body cannot change the verdict."""
        if self.absent is not None and self.absent.found:
            return True
        if self.absent is not None or self.json is not None:
            return False
        return self.present is not None and self.present.found

    def verdict(self, truncated: bool, cap: int) -> Outcome | None:
        failed = self._keywords(truncated, cap)
        if failed is not None or self.json is None:
            return failed
        if truncated:
            return failure(
                "body_too_large",
                f"body is longer than {cap} bytes; the JSON conditions need all of it",
            )
        assert self.body is not None
        message = self.json.failure(bytes(self.body))
        return failure("json", message) if message is not None else None

    def _keywords(self, truncated: bool, cap: int) -> Outcome | None:
        absent, present = self.absent, self.present
        if absent is not None and absent.found:
            return failure("keyword", f"unwanted {absent.what} {absent.keyword!r} found")
        if present is not None and not present.found:
            if truncated:
                return failure(
                    "body_too_large",
                    f"{present.what} {present.keyword!r} not in the first {cap} bytes "
                    "and the body is longer",
                )
            return failure("keyword", f"{present.what} {present.keyword!r} not found")
        if absent is not None and truncated:
            return failure(
                "body_too_large",
                f"body is longer than {cap} bytes; cannot tell "
                f"whether {absent.keyword!r} is absent",
            )
        return None


# -- content codings, undone in bounded pieces ------------------------------------------------


class _DecodeError(Exception):
    pass


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data`, each at most about _PIECE bytes."""

    def finish(self) -> None:
        """Raise _DecodeError when the stream stopped before its end."""


async def _decoded(content: aiohttp.StreamReader, decoder: _Decoder) -> AsyncGenerator[bytes, None]:
    while chunk := await content.read(_PIECE):
        for piece in decoder.feed(chunk):
            yield piece
    decoder.finish()


def _decoder(content_encoding: str) -> _Decoder | None:
    """The decoder for a Content-Encoding header, or None when none here can undo it."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if codings == ["deflate"]:
        return _Zlib(gzip=False)
    if codings == ["br"]:
        return _Brotli()
    return None  # zstd, compress, a stack of codings, or something made up


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data

    def finish(self) -> None:
        pass


class _Zlib:
    """gzip (concatenated members are one body, RFC 1952) or deflate (zlib-wrapped, as RFC 9110
    says, or raw, as some servers send it)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj: Any = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._obj is None:
            # RFC 1950: a zlib stream's first byte has CM = 8 in its low nibble.
            wbits = (
                _GZIP_WBITS
                if self._gzip
                else (zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
            )
            self._obj = zlib.decompressobj(wbits)
        while True:
            try:
                # max_length bounds each piece; the rest waits in unconsumed_tail.
                piece = self._obj.decompress(data, _PIECE)
            except zlib.error as exc:
                raise _DecodeError(str(exc)) from None
            if piece:
                yield piece
            data = self._obj.unconsumed_tail
            if self._obj.eof and self._obj.unused_data:
                if not self._gzip:
                    return  # bytes after a deflate stream are ignored, as zlib does
                data, self._obj = self._obj.unused_data, zlib.decompressobj(_GZIP_WBITS)
            if not data and len(piece) < _PIECE:
                return

    def finish(self) -> None:
        if self._obj is not None and not self._obj.eof:
            raise _DecodeError("the compressed stream ends early")


class _Brotli:
    def __init__(self) -> None:
        self._obj: Any = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._obj is None:
            self._obj = brotli.Decompressor()
        try:
            piece = self._obj.process(data, output_buffer_limit=_PIECE)
            while True:
                if piece:
                    yield piece
                if self._obj.can_accept_more_data():
                    return
                piece = self._obj.process(b"", output_buffer_limit=_PIECE)
        except brotli.error as exc:
            raise _DecodeError(str(exc) or "not a brotli stream") from None

    def finish(self) -> None:
        if self._obj is not None and not self._obj.is_finished():
            raise _DecodeError("the compressed stream ends early")


# -- failures of the connection or the protocol -----------------------------------------------


def _error(exc: BaseException, probe: _Probe) -> Outcome:
    """The failure an aiohttp or socket error stands for."""
    match exc:
        case aiohttp.ClientConnectorCertificateError():
            return failure("tls", str(exc.certificate_error))
        case aiohttp.ClientConnectorDNSError():
            return failure("dns", str(exc.os_error) or str(exc))
        case aiohttp.ClientConnectorError():
            return failure(_os_error_class(exc.os_error), str(exc))
        case aiohttp.ClientSSLError() | ssl.SSLError():
            return failure("tls", str(exc))
        case aiohttp.ServerDisconnectedError():
            return failure("disconnected", "the server closed the connection before it answered")
        case aiohttp.ClientPayloadError():
            return _payload_error(exc, probe)
        case aiohttp.ClientResponseError():
            # aiohttp reports a parse error as status 400; the server sent no status at all.
            return failure("http", f"not a valid HTTP response: {_cause_message(exc)}")
        case aiohttp.InvalidURL():
            return failure("url", f"invalid URL {exc}")
        case TimeoutError():  # an OSError too; aiohttp's own, the check's deadline is the caller's
            return failure("timeout", str(exc) or "timed out")
        case OSError():
            return failure(_os_error_class(exc), str(exc) or type(exc).__name__)
    return failure("http", f"{type(exc).__name__}: {exc}")


def _payload_error(exc: aiohttp.ClientPayloadError, probe: _Probe) -> Outcome:
    """A body that ended early: a reset, a clean close, or framing that is not HTTP."""
    if probe.reset():
        return failure("reset", "connection reset by peer while reading the body")
    if probe.lost():
        return failure(
            "disconnected",
            f"the server closed the connection before the end of the body ({_cause_message(exc)})",
        )
    return failure("http", f"the body's framing is not valid HTTP: {_cause_message(exc)}")


def _cause_message(exc: BaseException) -> str:
    """The parser's own words, without the made-up status 400 around them."""
    for candidate in (exc.__cause__, exc):
        if (
            isinstance(candidate, HttpProcessingError | aiohttp.ClientResponseError)
            and candidate.message
        ):
            return str(candidate.message)
    return str(exc)


def _os_error_class(exc: BaseException | None) -> str:
    code = getattr(exc, "errno", None)
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused"
    if isinstance(exc, ConnectionResetError) or code == errno.ECONNRESET:
        return "reset"
    return "connect"


async def _start(ctx: CheckContext) -> aiohttp.ClientSession:
    return new_session(resolver=ctx.resolver.for_aiohttp())


async def _stop(session: aiohttp.ClientSession) -> None:
    await session.close()


KIND: Kind[HttpSettings, aiohttp.ClientSession] = Kind(
    "http", HttpSettings, check_http, start=_start, stop=_stop
)
