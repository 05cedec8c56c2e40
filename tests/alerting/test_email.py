"""The e-mail sender against a real SMTP server (aiosmtpd): plain, STARTTLS and implicit TLS with
a throwaway certificate, AUTH, threading by Message-ID, and the SMTP replies' meaning."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.alerting.smtp import smtp_server
from tests.alerting.test_senders import channel_test, digest, firing, reminder, resolved
from tests.faults.certs import Certs, make_certs
from tests.support import free_port
from vigil_core import channels
from vigil_worker.alerting import senders, text
from vigil_worker.alerting.message import Message
from vigil_worker.alerting.senders.base import Outcome, SendContext
from vigil_worker.alerting.senders.email import message_id

# aiosmtpd warns about AUTH without its STARTTLS check on the implicit-TLS server, where the
# whole connection is TLS already.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

FROM = "alerts@vigil.example"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("smtp-certs"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def config(port: int, **over: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "from_address": FROM,
        "to": ["oncall@example.org"],
        "security": "none",
        **over,
    }


async def mail(
    session: aiohttp.ClientSession, cfg: dict[str, Any], message: Message, timeout_s: float = 10
) -> Outcome:
    ctx = SendContext(session=session, timeout_s=timeout_s)
    return await senders.send(ctx, "email", channels.decode("email", cfg), message)


async def test_a_firing_is_a_plain_text_mail(session: aiohttp.ClientSession) -> None:
    message = firing(ui_url="http://vigil.example/#/targets/7")
    with smtp_server() as smtp:
        outcome = await mail(
            session, config(smtp.port, to=["a@example.org", "b@example.org"]), message
        )
        [got] = smtp.mails
    assert (outcome.ok, outcome.status) == (True, 250)
    assert got.sender == FROM and got.recipients == ["a@example.org", "b@example.org"]
    m = got.message
    assert m["Subject"] == "DOWN: api (http https://x) - timeout"
    assert m["From"] == f"Vigil <{FROM}>"
    assert m["To"] == "a@example.org, b@example.org"
    assert m["Message-ID"] == "<vigil-incident-41-firing@vigil.example>"
    assert m["In-Reply-To"] is None
    assert m["Auto-Submitted"] == "auto-generated"
    assert (m["X-Vigil-Event"], m["X-Vigil-Event-Id"]) == ("firing", "141")
    assert m.get_content_type() == "text/plain" and not m.is_multipart()
    assert m.get_content().replace("\r\n", "\n") == text.text(message) + "\n"  # CRLF on the wire


async def test_the_resolve_and_reminders_thread_under_the_firing(
    session: aiohttp.ClientSession,
) -> None:
    with smtp_server() as smtp:
        for message in (firing(), reminder(seq=1), resolved()):
            assert (await mail(session, config(smtp.port), message)).ok
        first, again, last = (m.message for m in smtp.mails)
    root = "<vigil-incident-41-firing@vigil.example>"
    assert first["Message-ID"] == root
    assert again["Message-ID"] == "<vigil-incident-41-reminder-1@vigil.example>"
    assert last["Message-ID"] == "<vigil-incident-41-resolved@vigil.example>"
    for reply in (again, last):
        assert (reply["In-Reply-To"], reply["References"]) == (root, root)
    assert last["Subject"] == "RESOLVED: api after 3m 12s"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (firing(), "<vigil-incident-41-firing@vigil.example>"),
        (resolved(), "<vigil-incident-41-resolved@vigil.example>"),
        (reminder(seq=3), "<vigil-incident-41-reminder-3@vigil.example>"),
        (channel_test(), "<vigil-test-9@vigil.example>"),
        (digest(3), "<vigil-digest-999@vigil.example>"),
    ],
    ids=["firing", "resolved", "reminder", "test", "digest"],
)
def test_message_ids_are_fixed_per_event(message: Message, expected: str) -> None:
    assert message_id(message, FROM) == expected


async def test_a_retry_sends_the_same_message_id(session: aiohttp.ClientSession) -> None:
    """Sent again after a lost acknowledgement, the mail is the same mail: clients and
    archives that de-duplicate by Message-ID show it once."""
    with smtp_server() as smtp:
        for _ in range(2):
            assert (await mail(session, config(smtp.port), channel_test())).ok
        ids = {m.message["Message-ID"] for m in smtp.mails}
    assert ids == {"<vigil-test-9@vigil.example>"}


async def test_a_digest_lists_its_items(session: aiohttp.ClientSession) -> None:
    with smtp_server() as smtp:
        assert (await mail(session, config(smtp.port), digest(55))).ok
        [got] = smtp.mails
    body = got.message.get_content().replace("\r\n", "\n")
    assert got.message["Subject"] == "Vigil: 55 alerts"
    assert "DOWN: svc-050 (http https://x) - timeout" in body and "svc-051" not in body
    assert body.rstrip().endswith("... and 5 more")


async def test_hostile_text_cannot_add_headers(session: aiohttp.ClientSession) -> None:
    message = firing(name="café ☕", cause="refused\r\nBcc: victim@example.org")
    with smtp_server() as smtp:
        assert (await mail(session, config(smtp.port), message)).ok
        [got] = smtp.mails
    assert got.message["Bcc"] is None and got.recipients == ["oncall@example.org"]
    assert (
        got.message["Subject"] == "DOWN: café ☕ (http https://x) - refused Bcc: victim@example.org"
    )


@pytest.mark.parametrize("security", ["starttls", "tls"], ids=["starttls", "implicit-tls"])
async def test_encrypted_and_logged_in(
    security: str, certs: Certs, session: aiohttp.ClientSession
) -> None:
    users = {"vigil": PASSWORD}
    with smtp_server(security=security, cert=certs.pair("self_signed"), users=users) as smtp:
        cfg = config(
            smtp.port, security=security, verify_tls=False, username="vigil", password=PASSWORD
        )
        outcome = await mail(session, cfg, firing())
        [got] = smtp.mails
    assert outcome.ok, outcome
    assert (got.tls, got.login) == (True, "vigil")


async def test_starttls_is_required_never_skipped(session: aiohttp.ClientSession) -> None:
    """A server (or a man in the middle stripping it) that offers no STARTTLS gets no mail in
    the clear; it is retried like a connection problem, saying why."""
    with smtp_server(security="none") as smtp:
        outcome = await mail(session, config(smtp.port, security="starttls"), firing())
        assert smtp.mails == []
    assert (outcome.ok, outcome.retry) == (False, True)
    assert "STARTTLS extension not supported" in (outcome.error or "")


async def test_a_certificate_is_checked_unless_told_not_to(
    certs: Certs, session: aiohttp.ClientSession
) -> None:
    with smtp_server(security="tls", cert=certs.pair("self_signed")) as smtp:
        outcome = await mail(session, config(smtp.port, security="tls"), firing())
        assert smtp.mails == []
    assert (outcome.ok, outcome.retry) == (False, True)  # a certificate can be fixed in time
    assert "certificate" in (outcome.error or "").lower()


async def test_a_certificate_from_a_trusted_ca_passes(
    certs: Certs, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))  # the trust store TLS contexts load
    with smtp_server(security="starttls", cert=certs.pair("good")) as smtp:
        outcome = await mail(session, config(smtp.port, security="starttls"), firing())
        assert len(smtp.mails) == 1 and smtp.mails[0].tls
    assert outcome.ok, outcome


async def test_a_wrong_password_is_permanent_and_not_repeated(
    certs: Certs, session: aiohttp.ClientSession
) -> None:
    wrong = "wrong-password-value"
    users = {"vigil": PASSWORD}
    with smtp_server(security="starttls", cert=certs.pair("self_signed"), users=users) as smtp:
        cfg = config(smtp.port, security="starttls", verify_tls=False)
        outcome = await mail(session, cfg | {"username": "vigil", "password": wrong}, firing())
    assert (outcome.ok, outcome.retry, outcome.status) == (False, False, 535)
    assert wrong not in (outcome.error or "")


@pytest.mark.parametrize(
    ("reply", "retry", "status"),
    [
        ("550 5.1.1 Mailbox unavailable", False, 550),
        ("451 4.3.0 Try again later", True, 451),
        ("552 5.2.2 Mailbox full", False, 552),
        ("421 4.7.0 Too many connections", True, 421),
    ],
    ids=["550-permanent", "451-retry", "552-permanent", "421-retry"],
)
async def test_smtp_replies(
    reply: str, retry: bool, status: int, session: aiohttp.ClientSession
) -> None:
    with smtp_server() as smtp:
        smtp.script(reply)
        outcome = await mail(session, config(smtp.port), firing())
        assert smtp.mails == []
    assert (outcome.ok, outcome.retry, outcome.status) == (False, retry, status)
    code, words = reply.split(" ", 1)
    assert outcome.error == f"smtp {code}: {words} (oncall@example.org)"


async def test_one_refused_recipient_of_two_still_counts_as_sent(
    session: aiohttp.ClientSession,
) -> None:
    """The other recipient has the mail: a retry would send it to them twice."""
    with smtp_server() as smtp:
        smtp.script("550 5.1.1 No such user")
        cfg = config(smtp.port, to=["gone@example.org", "oncall@example.org"])
        outcome = await mail(session, cfg, firing())
        [got] = smtp.mails
    assert outcome.ok
    assert got.recipients == ["oncall@example.org"]


async def test_a_refused_connection_is_retried(session: aiohttp.ClientSession) -> None:
    outcome = await mail(session, config(free_port()), firing())
    assert (outcome.ok, outcome.retry, outcome.status) == (False, True, None)


async def test_a_silent_server_times_out_within_the_attempt(
    session: aiohttp.ClientSession,
) -> None:
    """A server that accepts the connection and never greets."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        outcome = await mail(session, config(port), firing(), timeout_s=0.5)
        took = time.monotonic() - started
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert (outcome.ok, outcome.retry, outcome.error) == (False, True, "timeout")
    assert took < 3.0
