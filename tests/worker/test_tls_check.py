"""The tls kind against real loopback servers: plain TLS and STARTTLS, chains, names, expiry, bounds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from cryptography import x509

from vigil_worker import checks
from vigil_worker.checks import CheckContext, run_check
from vigil_worker.checks.tls import certificate_facts, expiring, iso

from ..faults.certs import Certs, make_certs
from ..support import free_port
from .conftest import add_target, running_worker, wait_for, worker_settings
from .test_checks import target

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


@dataclass(frozen=True)
class Script:
    """A STARTTLS server's side of the preamble: its greeting, its reply to each command (by
    the command's start), and the command after whose reply it starts TLS (None: never)."""

    greeting: tuple[str, ...]
    replies: dict[str, tuple[str, ...]]
    tls_after: str | None


SCRIPTS = {
    "smtp": Script(
        ("220-mail.vigil.test ESMTP", "220 ready"),  # a reply of several lines
        {"EHLO": ("250-mail.vigil.test", "250-SIZE 1000", "250 STARTTLS"), "STARTTLS": ("220 go",)},
        "STARTTLS",
    ),
    "imap": Script(
        ("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready",),
        {"A1 STARTTLS": ("* CAPABILITY IMAP4rev1", "a1 OK begin TLS now")},
        "A1 STARTTLS",
    ),
    "pop3": Script(("+OK POP3 ready",), {"STLS": ("+OK begin TLS",)}, "STLS"),
    "ftp": Script(
        ("220-FTP", "welcome", "220 ready"), {"AUTH TLS": ("234 AUTH TLS ok",)}, "AUTH TLS"
    ),
    "smtp-refuses": Script(
        ("220 mail.vigil.test ESMTP",),
        {"EHLO": ("250 mail.vigil.test",), "STARTTLS": ("454 4.7.0 TLS not available",)},
        None,
    ),
    "imap-refuses": Script(("* OK ready",), {"A1 STARTTLS": ("a1 BAD unknown command",)}, None),
    "imap-preauth": Script(("* PREAUTH logged in",), {}, None),
    "pop3-refuses": Script(("+OK POP3 ready",), {"STLS": ("-ERR not here",)}, None),
    "ftp-refuses": Script(("220 ready",), {"AUTH TLS": ("502 not implemented",)}, None),
}


@dataclass
class Servers:
    ports: dict[str, int] = field(default_factory=dict)
    sni: dict[str, list[str | None]] = field(default_factory=dict)  # what each TLS server was sent
    commands: list[str] = field(default_factory=list)  # what the STARTTLS servers were sent
    closers: list[asyncio.Server] = field(default_factory=list)

    async def add(self, name: str, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
        self.closers.append(server)
        self.ports[name] = server.sockets[0].getsockname()[1]


def _server_context(certs: Certs, leaf: str, sni: list[str | None]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certs.pair(leaf))
    context.sni_callback = lambda _obj, name, _ctx: sni.append(name)
    return context


async def _until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await reader.read()
    writer.close()


def _scripted(script: Script, tls: ssl.SSLContext, commands: list[str]) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            writer.write("".join(f"{line}\r\n" for line in script.greeting).encode())
            while line := await reader.readline():
                command = line.decode().strip()
                commands.append(command)
                key = next((k for k in script.replies if command.upper().startswith(k)), None)
                reply = script.replies[key] if key else ("500 what?",)
                writer.write("".join(f"{r}\r\n" for r in reply).encode())
                if key is not None and key == script.tls_after:
                    await writer.start_tls(tls)
                    break
        await _until_closed(reader, writer)

    return handle


def _flood(first: bytes, chunk: bytes) -> Handler:
    """Sends `first`, then `chunk` over and over (bounded) until the client goes away."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(first)
            for _ in range(10_000):
                writer.write(chunk)
                await writer.drain()
        writer.close()

    return handle


async def _banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
    await _until_closed(reader, writer)


async def _closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls-check-certs"))


@pytest.fixture(scope="module")
def trusted(certs: Certs) -> Iterator[None]:
    """The test CA as the whole trust store, as an operator's private CA (SSL_CERT_FILE)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(certs.ca))
        yield


@pytest.fixture(scope="module")
async def ctx(trusted: None) -> AsyncIterator[CheckContext]:
    async with checks.running() as started:
        yield started


@pytest.fixture(scope="module")
async def servers(certs: Certs) -> AsyncIterator[Servers]:
    s = Servers()
    for leaf in ("good", "expired", "self_signed", "wrong_host"):
        s.sni[leaf] = []
        await s.add(leaf, _until_closed, _server_context(certs, leaf, s.sni[leaf]))
    good = _server_context(certs, "good", s.sni.setdefault("starttls", []))
    for name, script in SCRIPTS.items():
        await s.add(name, _scripted(script, good, s.commands))
    await s.add("endless-line", _flood(b"220 ", b"x" * 65536))
    await s.add("endless-reply", _flood(b"", b"220-still greeting\r\n" * 1000))
    await s.add("banner", _banner)
    await s.add("closes", _closes)
    await s.add("silent", _until_closed)
    s.ports["refused"] = free_port()
    yield s
    for server in s.closers:
        server.close()


def _not_after(certs: Certs, leaf: str):
    return x509.load_pem_x509_certificate(certs.pair(leaf)[0].read_bytes()).not_valid_after_utc


# (id, server, timeout_s, settings, error_class (None: ok), part of the message, leaf presented)
CASES = [
    ("ok", "good", 5, {"min_days_valid": 1}, None, None, "good"),
    # `good` ends in 7 days: fewer than the default 14 is `expiring`, still with its details
    ("expiring", "good", 5, {}, "expiring", "certificate for 127.0.0.1 expires in 6 days (", "good"),
    ("expiring-server-name", "wrong_host", 5, {"server_name": "wrong.vigil.test"}, "expiring",
     "certificate for wrong.vigil.test expires in 6 days", "wrong_host"),
    ("never-expiring", "good", 5, {"min_days_valid": 0}, None, None, "good"),
    # the limit every kind has: the check's latency (connect + handshake) over it is `slow`
    ("slow", "good", 5, {"min_days_valid": 1, "max_latency_ms": 0.001}, "slow", "slow: ", "good"),
    ("expired", "expired", 5, {}, "tls",
     "the certificate of 127.0.0.1 does not verify: certificate has expired", "expired"),
    ("self-signed", "self_signed", 5, {}, "tls", "self-signed certificate", "self_signed"),
    ("ip-mismatch", "wrong_host", 5, {}, "tls", "IP address mismatch", "wrong_host"),
    ("server-name", "wrong_host", 5, {"server_name": "wrong.vigil.test", "min_days_valid": 1},
     None, None, "wrong_host"),
    ("server-name-mismatch", "good", 5, {"server_name": "other.vigil.test"}, "tls",
     "Hostname mismatch", "good"),
    ("not-tls-banner", "banner", 5, {}, "tls", "no TLS with 127.0.0.1: [SSL: ", None),
    ("not-tls-closes", "closes", 5, {}, "tls", "during the TLS handshake", None),
    ("silent", "silent", 0.5, {}, "timeout", "no answer within 0.5s", None),
    ("refused", "refused", 5, {}, "refused", "refused", None),
    *[
        (f"starttls-{p}", p, 5, {"starttls": p, "min_days_valid": 1}, None, None, "good")
        for p in ("smtp", "imap", "pop3", "ftp")
    ],
    ("starttls-expiring", "smtp", 5, {"starttls": "smtp"}, "expiring", "expires in 6 days", "good"),
    ("smtp-refused", "smtp-refuses", 5, {"starttls": "smtp"}, "tls",
     "smtp: STARTTLS refused: 454 4.7.0 TLS not available", None),
    ("imap-refused", "imap-refuses", 5, {"starttls": "imap"}, "tls",
     "imap: STARTTLS refused: a1 BAD unknown command", None),
    ("imap-preauth", "imap-preauth", 5, {"starttls": "imap"}, "tls",
     "imap: refused greeting: '* PREAUTH logged in'", None),
    ("pop3-refused", "pop3-refuses", 5, {"starttls": "pop3"}, "tls",
     "pop3: STLS refused: -ERR not here", None),
    ("ftp-refused", "ftp-refuses", 5, {"starttls": "ftp"}, "tls",
     "ftp: AUTH TLS refused: 502 not implemented", None),
    ("smtp-to-pop3", "pop3", 5, {"starttls": "smtp"}, "tls",
     "smtp: not an SMTP reply: '+OK POP3 ready'", None),
    ("imap-to-smtp", "smtp", 5, {"starttls": "imap"}, "tls", "imap: not an IMAP greeting", None),
    # both ends wait for the other to speak first: the deadline ends it
    ("starttls-to-tls", "good", 0.5, {"starttls": "pop3"}, "timeout", None, None),
    ("endless-line", "endless-line", 10, {"starttls": "smtp"}, "tls",
     "smtp: the server sent a line longer than 4096 bytes", None),
    ("endless-reply", "endless-reply", 10, {"starttls": "ftp"}, "tls",
     "ftp: the server sent more than 65536 bytes before TLS", None),
    ("closes-in-preamble", "closes", 5, {"starttls": "imap"}, "tls",
     "imap: the server closed the connection before it agreed to start TLS", None),
]  # fmt: skip


@pytest.mark.parametrize(
    "server, timeout_s, settings, error_class, message, leaf",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_tls_check(
    ctx: CheckContext,
    servers: Servers,
    certs: Certs,
    server: str,
    timeout_s: float,
    settings: dict,
    error_class: str | None,
    message: str | None,
    leaf: str | None,
) -> None:
    address = f"127.0.0.1:{servers.ports[server]}"
    outcome = await run_check(target("tls", address, timeout_s, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (error_class is None, error_class), (
        outcome.error_message
    )
    if message is not None:
        assert message in (outcome.error_message or "")
    if outcome.timings is not None:  # once connected: connect, preamble and handshake, not DNS
        t = outcome.timings
        assert outcome.latency_ms == pytest.approx(
            t["connect"] + t.get("starttls", 0) + t.get("tls", 0)
        )
    if leaf is None:
        assert outcome.details is None and outcome.tls_expires_at is None
        return
    not_after = _not_after(certs, leaf)
    details = outcome.details
    assert details is not None
    assert details["not_after"] == iso(not_after)
    assert details["issuer"] == (
        "CN=127.0.0.1" if leaf == "self_signed" else "CN=Vigil fault-suite CA"
    )
    assert details["sans"] == (
        ["wrong.vigil.test", "127.0.0.2"] if leaf == "wrong_host" else ["127.0.0.1"]
    )
    assert details["protocol"] == "TLSv1.3" and details["cipher"]
    verified = error_class in (None, "expiring", "slow")
    assert details["verified"] is verified
    # the expiry is the target's only when the chain verified; a rejected chain shows it in details
    assert outcome.tls_expires_at == (not_after if verified else None)
    if verified:
        assert ("starttls" in outcome.timings) is ("starttls" in settings)


async def test_sni_is_the_server_name_and_absent_for_an_ip(
    ctx: CheckContext, servers: Servers
) -> None:
    address = f"127.0.0.1:{servers.ports['wrong_host']}"
    sni = servers.sni["wrong_host"]
    sni.clear()
    await run_check(target("tls", address, 5, server_name="wrong.vigil.test"), ctx)
    await run_check(target("tls", address, 5), ctx)
    assert sni == ["wrong.vigil.test", None, None]  # None twice: the check and its second look


async def test_ehlo_names_this_end_by_its_address(ctx: CheckContext, servers: Servers) -> None:
    servers.commands.clear()
    address = f"127.0.0.1:{servers.ports['smtp']}"
    outcome = await run_check(target("tls", address, 5, starttls="smtp", min_days_valid=1), ctx)
    assert outcome.ok, outcome.error_message
    assert servers.commands == ["EHLO [127.0.0.1]", "STARTTLS"]


async def test_a_worker_stores_the_certificate(
    db, db_url: str, trusted: None, servers: Servers, certs: Certs
) -> None:
    """Through a real worker: checks.details and target_state.tls_expires_at as the API reads them."""
    address = f"127.0.0.1:{servers.ports['imap']}"
    tid = await add_target(
        db,
        "cert",
        "tls",
        address,
        interval_s=5,
        timeout_s=2,
        settings={"starttls": "imap", "min_days_valid": 1},
    )
    async with running_worker(worker_settings(db_url)):
        row = await wait_for(
            lambda: db.fetchrow(
                "SELECT ok, error_class, details FROM checks WHERE target_id = $1", tid
            ),
            timeout=20,
            what="a stored tls result",
        )
        expires = await wait_for(
            lambda: db.fetchval(
                "SELECT tls_expires_at FROM target_state WHERE target_id = $1", tid
            ),
            timeout=20,
            what="the target's certificate expiry",
        )
    assert (row["ok"], row["error_class"]) == (True, None)
    assert row["details"]["subject"] == "CN=127.0.0.1"
    assert row["details"]["sans"] == ["127.0.0.1"]
    assert row["details"]["not_after"] == iso(_not_after(certs, "good"))
    assert expires == _not_after(certs, "good")


NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

# (id, not_after, min_days_valid, message or None)
EXPIRY_CASES = [
    ("plenty", NOW + 30 * DAY, 14, None),
    ("exactly-the-minimum", NOW + 14 * DAY, 14, None),
    ("a-second-short", NOW + 14 * DAY - dt.timedelta(seconds=1), 14,
     "certificate for example.com expires in 13 days (2026-12-15T09:59:59Z)"),
    ("three-days", NOW + 3 * DAY, 14, "certificate for example.com expires in 3 days (2026-12-04T10:00:00Z)"),
    ("one-day", NOW + DAY + dt.timedelta(hours=1), 14, "certificate for example.com expires in 1 day ("),
    ("hours", NOW + dt.timedelta(hours=5), 1, "certificate for example.com expires in less than a day ("),
    ("zero-minimum", NOW + dt.timedelta(hours=5), 0, None),
]  # fmt: skip


@pytest.mark.parametrize(
    "not_after, min_days, message", [c[1:] for c in EXPIRY_CASES], ids=[c[0] for c in EXPIRY_CASES]
)
def test_expiring(not_after: dt.datetime, min_days: int, message: str | None) -> None:
    got = expiring("example.com", not_after, min_days, NOW)
    assert got == message if message is None or message.endswith(")") else got.startswith(message)


@pytest.mark.parametrize(
    "der", [b"", b"not der", b"\x30\x03\x02\x01\x00"], ids=["empty", "text", "junk"]
)
def test_certificate_facts_of_what_is_not_a_certificate(der: bytes) -> None:
    assert certificate_facts(der) is None
