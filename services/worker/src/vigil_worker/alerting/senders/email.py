"""E-mail through an SMTP server (aiosmtplib): the title as the subject, the text as a plain-text
body, and a Message-ID fixed per event so retries and several workers send the same mail and
the resolve and reminders thread under their firing (In-Reply-To and References).

Message-IDs: `<vigil-incident-<id>-firing@<domain of from>>`, `-resolved@`, `-reminder-<n>@`;
tests `<vigil-test-<event id>@>`, digests `<vigil-digest-<delivery id>@>`.
Security: `starttls` connects in plain and requires STARTTLS (never a silent downgrade: a server
that offers none gets nothing, and is retried like a connection problem, since a stripped
STARTTLS may be an attacker's for a while), `tls` is TLS from the first byte (port 465), `none`
sends in the clear (a relay on localhost).
SMTP replies: 4xx is temporary, 5xx permanent (535 bad login, 550 no such mailbox), with the
server's words stored and its code as `status`; a refused or broken connection, a certificate
that does not verify and a timeout are temporary.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib

from vigil_core.channels import EmailConfig
from vigil_core.logging import get_logger
from vigil_core.text import storable

from .. import text
from ..message import Message
from .base import Outcome, SendContext, redacted
from .http import ERROR_BODY_CHARS

log = get_logger("vigil_worker.alerting")


def domain(address: str) -> str:
    return address.rpartition("@")[2]


def message_id(message: Message, from_address: str) -> str:
    """The event's Message-ID (see the module's docstring)."""
    at = domain(from_address)
    if message.event == "digest":
        return f"<vigil-digest-{message.delivery_id}@{at}>"
    if message.event == "test" or message.incident is None:
        return f"<vigil-{message.event}-{message.event_id}@{at}>"
    incident = f"vigil-incident-{message.incident.id}"
    if message.event == "reminder":
        return f"<{incident}-reminder-{message.seq}@{at}>"
    return f"<{incident}-{message.event}@{at}>"


def firing_id(message: Message, from_address: str) -> str | None:
    """The Message-ID of the firing a resolve or reminder replies to."""
    if message.event not in ("resolved", "reminder") or message.incident is None:
        return None
    return f"<vigil-incident-{message.incident.id}-firing@{domain(from_address)}>"


def compose(config: EmailConfig, message: Message, now: datetime | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr(("Vigil", config.from_address))
    mail["To"] = ", ".join(config.to)
    mail["Subject"] = text.title(message)
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = message_id(message, config.from_address)
    if parent := firing_id(message, config.from_address):
        mail["In-Reply-To"] = parent
        mail["References"] = parent
    # RFC 3834: out-of-office robots must not answer an alert.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Vigil-Event"] = message.event
    mail["X-Vigil-Delivery-Id"] = str(message.delivery_id)
    if message.event_id is not None:
        mail["X-Vigil-Event-Id"] = str(message.event_id)
    mail.set_content(text.text(message) + "\n")
    return mail


def _reply(code: int, words: str, detail: str = "") -> Outcome:
    """The Outcome of an SMTP error reply: 4xx temporary, 5xx permanent."""
    said = storable(" ".join(words.split()))
    error = f"smtp {code}: {said}{detail}"[:ERROR_BODY_CHARS]
    return Outcome(ok=False, retry=not 500 <= code < 600, status=code, error=error)


def outcome_of(exc: BaseException) -> Outcome:
    """The Outcome of a failed exchange."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        # Every recipient refused: temporary if any of the refusals is.
        first = min(exc.recipients, key=lambda r: r.code // 100 != 4)
        return _reply(first.code, first.message, f" ({first.recipient})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _reply(exc.code, exc.message)
    if isinstance(exc, TimeoutError):
        return Outcome(ok=False, retry=True, error="timeout")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # The server lacks what the channel asks for (STARTTLS, AUTH): its config, not a blip.
        return Outcome(ok=False, error=f"smtp: {storable(exc.message)}"[:ERROR_BODY_CHARS])
    name = type(exc).__name__
    detail = storable(str(exc))[:ERROR_BODY_CHARS]
    return Outcome(ok=False, retry=True, error=f"{name}: {detail}" if detail else name)


async def send(ctx: SendContext, config: EmailConfig, message: Message) -> Outcome:
    mail = compose(config, message)
    secrets = (config.password,) if config.password else ()
    try:
        async with asyncio.timeout(ctx.timeout_s):
            refused, _ = await aiosmtplib.send(
                mail,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=(config.password or "") if config.username else None,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                # aiosmtplib builds the TLS context in a thread (loading the CA store blocks).
                validate_certs=config.verify_tls,
                timeout=ctx.timeout_s,
            )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # ssl errors are OSError
        return redacted(outcome_of(exc), secrets)
    if refused:
        # Some recipients took it: sending again would mail them twice, so it counts as sent.
        log.warning(
            "alerting.email_refused",
            delivery_id=message.delivery_id,
            refused={to: f"{r.code} {r.message}" for to, r in refused.items()},
        )
    return Outcome(ok=True, status=250)
