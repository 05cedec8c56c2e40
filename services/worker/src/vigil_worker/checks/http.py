"""HTTP(S) checks with aiohttp: a fresh connection per check, phase timings, a capped body read.

Phases come from an aiohttp TraceConfig (DNS, connection, first byte). aiohttp reports the
TCP connect and the TLS handshake as one "connection create" phase, so the connector below marks
the moment the socket is connected (asyncio calls the protocol factory then, before the
handshake) to split the two.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp

from .base import CheckContext, ClaimedTarget, Outcome, failure, ms
from .tls import certificate_not_after


@dataclass(slots=True)
class _Probe:
    """What one check learns while aiohttp connects: phase marks and the peer's certificate."""

    marks: dict[str, float] = field(default_factory=dict)
    peer_cert: bytes | None = None


# The probe of the check running in this task (None outside a check).
_PROBE: ContextVar[_Probe | None] = ContextVar("vigil_http_probe", default=None)


class _TimedConnector(aiohttp.TCPConnector):
    async def _wrap_create_connection(self, factory: Any, *args: Any, **kwargs: Any) -> Any:
        probe = _PROBE.get()
        if probe is None:
            return await super()._wrap_create_connection(factory, *args, **kwargs)

        def timed_factory() -> Any:
            probe.marks["tcp_done"] = time.perf_counter()
            return factory()

        transport, protocol = await super()._wrap_create_connection(timed_factory, *args, **kwargs)
        # Read now: a short body is consumed and the connection released before we look.
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            probe.peer_cert = ssl_object.getpeercert(binary_form=True)  # also when unverified
        return transport, protocol


def _tracer() -> aiohttp.TraceConfig:
    def mark(name: str):
        async def record(session: Any, ctx: SimpleNamespace, params: Any) -> None:
            if isinstance(ctx.trace_request_ctx, dict):
                ctx.trace_request_ctx[name] = time.perf_counter()
        return record

    trace = aiohttp.TraceConfig()
    trace.on_dns_resolvehost_start.append(mark("dns_start"))
    trace.on_dns_resolvehost_end.append(mark("dns_end"))
    trace.on_connection_create_start.append(mark("conn_start"))
    trace.on_connection_create_end.append(mark("conn_end"))
    trace.on_request_end.append(mark("headers"))
    return trace


def new_session() -> aiohttp.ClientSession:
    """The session every HTTP check shares (closed by the worker at exit)."""
    # force_close: every check opens its own connection, so connect failures and connect/TLS
    # time are seen each time. limit=0: the scheduler bounds concurrency, not the connector.
    # The DNS cache is short: checks measure resolution at least every 10 s per host.
    connector = _TimedConnector(force_close=True, limit=0, ttl_dns_cache=10)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),  # the caller owns the deadline
        trace_configs=[_tracer()],
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),  # checks must not carry state between runs
    )


def status_ok(status: int, expected: list[int | str] | None) -> bool:
    """Whether `status` matches the expected list (ints or "2xx"-style classes); default 2xx/3xx."""
    if not expected:
        return 200 <= status < 400
    for rule in expected:
        if isinstance(rule, int) and status == rule:
            return True
        if isinstance(rule, str) and len(rule) == 3 and rule[1:] == "xx" and str(status)[0] == rule[0]:
            return True
    return False


def _timings(marks: dict[str, float], start: float, end: float, tls: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    if "dns_start" in marks and "dns_end" in marks:
        out["dns"] = ms(marks["dns_end"] - marks["dns_start"])
    connect_from = marks.get("dns_end", marks.get("conn_start"))
    if connect_from is not None and "tcp_done" in marks:
        out["connect"] = ms(marks["tcp_done"] - connect_from)
        if tls and "conn_end" in marks:
            out["tls"] = ms(marks["conn_end"] - marks["tcp_done"])
    if "headers" in marks:
        out["ttfb"] = ms(marks["headers"] - start)
    out["total"] = ms(end - start)
    return out


async def _read_body(resp: aiohttp.ClientResponse, cap: int, keep: bool) -> tuple[bytes, bool]:
    """Read at most `cap` bytes; returns (what was kept, whether the body went on past the cap)."""
    kept = bytearray()
    seen = 0
    while seen < cap:
        chunk = await resp.content.read(min(65536, cap - seen))
        if not chunk:
            return bytes(kept), False
        seen += len(chunk)
        if keep:
            kept += chunk
    more = await resp.content.read(1)
    return bytes(kept), bool(more)


def _keyword_verdict(body: bytes, truncated: bool, settings: dict[str, Any], cap: int,
                     status: int) -> Outcome | None:
    """None when the keyword rules hold, else the failure."""
    present = settings.get("keyword")
    absent = settings.get("keyword_absent")
    if present and present.encode() not in body:
        if truncated:
            return failure("body_too_large", f"keyword {present!r} not in the first {cap} bytes "
                           "and the body is longer", status_code=status)
        return failure("keyword", f"keyword {present!r} not found", status_code=status)
    if absent:
        if absent.encode() in body:
            return failure("keyword", f"unwanted keyword {absent!r} found", status_code=status)
        if truncated:
            return failure("body_too_large", f"body is longer than {cap} bytes; cannot tell "
                           f"whether {absent!r} is absent", status_code=status)
    return None


async def check_http(target: ClaimedTarget, ctx: CheckContext) -> Outcome:
    settings = target.settings
    probe = _Probe()
    marks = probe.marks
    token = _PROBE.set(probe)
    start = time.perf_counter()
    try:
        async with ctx.http.request(
            settings.get("method", "GET"),
            target.address,
            headers=settings.get("headers") or None,
            ssl=None if settings.get("verify_tls", True) else False,
            allow_redirects=settings.get("follow_redirects", True),
            max_redirects=settings.get("max_redirects", 10),
            trace_request_ctx=marks,
        ) as resp:
            tls = resp.url.scheme == "https"
            not_after = certificate_not_after(probe.peer_cert) if probe.peer_cert else None
            if not status_ok(resp.status, settings.get("expected_status")):
                return failure("status", f"unexpected status {resp.status}", status_code=resp.status,
                               timings=_timings(marks, start, time.perf_counter(), tls),
                               tls_expires_at=not_after)
            wants_body = bool(settings.get("keyword") or settings.get("keyword_absent"))
            cap = ctx.http_body_cap_bytes
            body, truncated = await _read_body(resp, cap, keep=wants_body)
            end = time.perf_counter()
            verdict = _keyword_verdict(body, truncated, settings, cap, resp.status)
            timings = _timings(marks, start, end, tls)
            if verdict is not None:
                verdict.timings, verdict.tls_expires_at = timings, not_after
                return verdict
            return Outcome(ok=True, latency_ms=timings["total"], status_code=resp.status,
                           timings=timings, tls_expires_at=not_after)
    except aiohttp.TooManyRedirects as exc:
        return failure("too_many_redirects", f"more than {settings.get('max_redirects', 10)} "
                       f"redirects ({exc.request_info.real_url})")
    except aiohttp.ClientConnectorCertificateError as exc:
        return failure("tls", str(exc.certificate_error))
    except aiohttp.ClientConnectorDNSError as exc:
        return failure("dns", str(exc.os_error) or str(exc))
    except aiohttp.ClientConnectorError as exc:
        return failure(_os_error_class(exc.os_error), str(exc))
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        return failure("tls", str(exc))
    except aiohttp.ServerDisconnectedError as exc:
        return failure("disconnected", str(exc) or "server closed the connection")
    except aiohttp.InvalidURL as exc:
        return failure("url", f"invalid URL {exc}")
    except aiohttp.ClientError as exc:
        return failure("http", f"{type(exc).__name__}: {exc}")
    except (OSError, asyncio.IncompleteReadError) as exc:
        return failure(_os_error_class(exc), str(exc) or type(exc).__name__)
    finally:
        _PROBE.reset(token)


def _os_error_class(exc: BaseException | None) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    return "connect"
