"""TLS checks: connect, STARTTLS when asked, handshake with SNI, verify chain and name, report the certificate."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil_core.kinds import TlsSettings, parse_host_port

from . import starttls
from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure, ms
from .tcp import connect_socket
from .tls import CertificateFacts, certificate_facts, expiring, facts_details

# How long closing waits for the server's close_notify before it drops the connection; the
# close runs after the verdict, so a server that never answers costs the worker, not the check.
_CLOSE_S = 1.0
# The second, unverified look at a chain that failed verification (for its details) gets at
# most this share of what is left of the deadline, so the verdict itself is never lost to it.
_LOOK_SHARE = 0.5
_SSL_SUFFIX = re.compile(r"\s*\(_ssl\.c:\d+\)$")


@dataclass(frozen=True, slots=True)
class Contexts:
    """What the tls kind's checks share: the verifying context (the system store, or
    SSL_CERT_FILE's, read when the worker starts) and one that accepts any chain, used only to
    show what a server presented after its chain failed verification."""

    verifying: ssl.SSLContext
    inspecting: ssl.SSLContext


async def _start(ctx: CheckContext) -> Contexts:
    inspecting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    inspecting.check_hostname = False
    inspecting.verify_mode = ssl.CERT_NONE
    return Contexts(verifying=ssl.create_default_context(), inspecting=inspecting)


@dataclass(slots=True)
class _Session:
    """A finished handshake: its TLS transport (to close) and what the server presented."""

    transport: asyncio.BaseTransport
    ssl_object: ssl.SSLObject
    timings: dict[str, float]

    def close(self) -> None:
        self.transport.close()  # sends close_notify; ends within _CLOSE_S in the background


@dataclass(slots=True)
class _Rejected:
    """A chain or name that failed verification: the failure, worth a second look for details."""

    outcome: Outcome


async def check_tls(target: ClaimedTarget[TlsSettings], ctx: CheckContext) -> Outcome:
    begun = time.perf_counter()
    settings = target.settings
    host, _ = parse_host_port(target.address)
    name = settings.server_name or host
    contexts = ctx.resource(KIND)
    session = await _handshake(target, ctx, contexts.verifying, name)
    if isinstance(session, Outcome):
        return session
    if isinstance(session, _Rejected):
        left = target.timeout_s - (time.perf_counter() - begun)
        session.outcome.details = await _inspect(target, ctx, contexts.inspecting, name, left)
        return session.outcome
    try:
        return _verdict(session, name, settings.min_days_valid)
    finally:
        session.close()


def _verdict(session: _Session, name: str, min_days_valid: int) -> Outcome:
    timings = session.timings
    facts = _facts(session)
    if facts is None:  # OpenSSL accepted it, cryptography's stricter parser does not
        return failure(
            "tls", f"the certificate of {name} verified but cannot be read", timings=timings
        )
    message = expiring(name, facts.not_after, min_days_valid, datetime.now(UTC))
    outcome = Outcome(
        ok=message is None,
        latency_ms=_latency(timings),
        timings=timings,
        tls_expires_at=facts.not_after,
        details=_details(session, facts, verified=True),
    )
    if message is not None:
        outcome.error_class, outcome.error_message = "expiring", message
    return outcome


def _facts(session: _Session) -> CertificateFacts | None:
    der = session.ssl_object.getpeercert(binary_form=True)  # also when nothing was verified
    return certificate_facts(der) if der else None


def _details(session: _Session, facts: CertificateFacts, *, verified: bool) -> dict[str, object]:
    """checks.details of a handshake: the leaf's facts and the connection's parameters."""
    cipher = session.ssl_object.cipher()
    return {
        **facts_details(facts, datetime.now(UTC)),
        "protocol": session.ssl_object.version(),
        "cipher": cipher[0] if cipher else None,
        "verified": verified,
    }


async def _inspect(
    target: ClaimedTarget[TlsSettings],
    ctx: CheckContext,
    context: ssl.SSLContext,
    name: str,
    left_s: float,
) -> dict[str, object] | None:
    """What the server presents, by a second handshake that verifies nothing; None when it
    does not finish within its share of what is left of the deadline, or fails."""
    try:
        async with asyncio.timeout(left_s * _LOOK_SHARE):
            session = await _handshake(target, ctx, context, name)
    except TimeoutError:
        return None
    if not isinstance(session, _Session):
        return None
    try:
        facts = _facts(session)
        return None if facts is None else _details(session, facts, verified=False)
    finally:
        session.close()


async def _handshake(
    target: ClaimedTarget[TlsSettings], ctx: CheckContext, context: ssl.SSLContext, name: str
) -> _Session | _Rejected | Outcome:
    """Connect, speak the STARTTLS preamble if any, and finish the TLS handshake."""
    opened = await connect(ctx, target.address, target.timeout_s)
    if isinstance(opened, Outcome):
        return opened
    reader, plain, timings = opened
    loop = asyncio.get_running_loop()
    session: _Session | None = None
    protocol = target.settings.starttls
    stage = "tls"  # the timing the time spent so far goes to: "starttls", then "tls"
    started = time.perf_counter()
    try:
        if protocol != "none":
            stage = "starttls"
            refused = await starttls.negotiate(protocol, reader, plain, _helo(plain))
            if refused is not None:
                return failure("tls", refused, **_spent(timings, stage, started))
            _spent(timings, stage, started)
            stage, started = "tls", time.perf_counter()
        transport = await loop.start_tls(
            plain,
            plain.get_protocol(),
            context,
            server_hostname=name,  # an IP literal: no SNI, and the IP is what is verified
            ssl_shutdown_timeout=_CLOSE_S,
        )
        if transport is None:  # typeshed allows it; asyncio returns None only if the peer left
            raise ConnectionAbortedError("the connection was lost")
        session = _Session(transport, transport.get_extra_info("ssl_object"), timings)
        _spent(timings, stage, started)
        return session
    except ssl.SSLCertVerificationError as exc:
        return _Rejected(
            failure("tls", _verify_message(exc, name), **_spent(timings, stage, started))
        )
    except OSError as exc:  # ssl.SSLError, a reset, a close during the handshake
        during = f"the {protocol} STARTTLS preamble" if stage == "starttls" else "the TLS handshake"
        return _failure(exc, name, during, **_spent(timings, stage, started))
    finally:
        if session is None:
            plain.abort()


def _spent(timings: dict[str, float], stage: str, started: float) -> dict[str, Any]:
    """Record the stage's time, and the total; the latency (connect, preamble, handshake) and
    timings as Outcome's keyword arguments, for a failure of the stage."""
    timings[stage] = ms(time.perf_counter() - started)
    timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 3)
    return {"latency_ms": _latency(timings), "timings": timings}


def _latency(timings: dict[str, float]) -> float:
    """The check's latency: connect, preamble and handshake, without the DNS lookup."""
    return round(timings["connect"] + timings.get("starttls", 0.0) + timings.get("tls", 0.0), 3)


def _verify_message(exc: ssl.SSLCertVerificationError, name: str) -> str:
    reason = exc.verify_message or _ssl_reason(exc)
    return f"the certificate of {name} does not verify: {reason}"


def _failure(exc: OSError, name: str, during: str, **measured: Any) -> Outcome:
    """Anything but a failed verification that stopped TLS once the connection was up: `tls`,
    a reset included, since a server that is not a TLS (or STARTTLS) one often just drops it."""
    if isinstance(exc, ssl.SSLError):
        why = _ssl_reason(exc)
    elif isinstance(exc, ConnectionResetError):
        why = "connection reset by peer"
    elif isinstance(exc, ConnectionError):
        why = f"the server closed the connection ({exc})"
    else:
        why = exc.strerror or str(exc) or type(exc).__name__
    return failure("tls", f"no TLS with {name}: {why} during {during}", **measured)


def _ssl_reason(exc: ssl.SSLError) -> str:
    text = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    return _SSL_SUFFIX.sub("", text)


def _helo(transport: asyncio.Transport) -> str:
    """EHLO's argument: this end's address as an address literal (RFC 5321 4.1.3)."""
    ip = ipaddress.ip_address(transport.get_extra_info("sockname")[0])
    return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"


async def connect(
    ctx: CheckContext, address: str, timeout_s: float
) -> tuple[asyncio.StreamReader, asyncio.Transport, dict[str, float]] | Outcome:
    """A TCP connection to host:port as a line reader (limited to starttls.LINE_MAX bytes a
    line) and its transport, with the dns and connect timings; or the failure, with tcp's error
    classes (dns, refused, connect).

    No StreamWriter: one left behind after start_tls would close the plain transport when it is
    collected, under the TLS transport's close_notify."""
    connected = await connect_socket(ctx, address, timeout_s)
    if isinstance(connected, Outcome):
        return connected
    sock, dns_s, connect_s = connected
    reader = asyncio.StreamReader(limit=starttls.LINE_MAX)
    try:
        transport, _ = await asyncio.get_running_loop().create_connection(
            lambda: asyncio.StreamReaderProtocol(reader), sock=sock
        )
    except OSError as exc:
        sock.close()
        return failure("connect", f"cannot connect to {address}: {exc.strerror or exc}")
    except BaseException:
        sock.close()  # the caller's deadline (CancelledError) must not leak the socket
        raise
    return reader, transport, {"dns": ms(dns_s), "connect": ms(connect_s)}


KIND: Kind[TlsSettings, Contexts] = Kind("tls", TlsSettings, check_tls, start=_start)
