"""A real SMTP server for mail tests: aiosmtpd on 127.0.0.1 (a free port, its own thread), in
plain text, with STARTTLS required, or with TLS from the first byte; optionally with AUTH; it
records every mail it accepts and answers RCPT as the test scripts it:

    with smtp_server(security="starttls", cert=certs.pair("self_signed")) as smtp:
        smtp.script("451 4.3.0 Try again later")   # the next RCPT's answer, then 250
        ... send to 127.0.0.1:smtp.port ...
        [mail] = smtp.mails

A send returns only after the server answered DATA, so by then the mail is recorded: no waits.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool  # it came over an encrypted connection
    login: str | None  # the user it authenticated as


@dataclass
class Recorder:
    """The aiosmtpd handler: RCPT answers from the script, then accepts; records each DATA."""

    users: dict[str, str] = field(default_factory=dict)
    mails: list[Mail] = field(default_factory=list)
    replies: deque[str] = field(default_factory=deque)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.replies:
            return self.replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if session.authenticated else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, tls, login))
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)


@dataclass
class Smtp:
    port: int
    recorder: Recorder

    @property
    def mails(self) -> list[Mail]:
        return self.recorder.mails

    def script(self, *replies: str) -> None:
        """The next RCPT answers (`550 5.1.1 ...`), then the default 250."""
        self.recorder.replies.extend(replies)


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    return context


@contextmanager
def smtp_server(
    *,
    security: Literal["none", "starttls", "tls"] = "none",
    cert: tuple[Path, Path] | None = None,
    users: dict[str, str] | None = None,
) -> Iterator[Smtp]:
    """A running server; `cert` (pem, key) for starttls and tls; `users` requires AUTH."""
    recorder = Recorder(users=dict(users or {}))
    context = _server_context(cert) if cert is not None else None
    options: dict[str, Any] = {}
    if security == "starttls":
        options |= {"tls_context": context, "require_starttls": True}
    elif security == "tls":
        # The connection is TLS from the first byte; aiosmtpd's require-TLS check for AUTH
        # knows only STARTTLS, so it is off here (AUTH still travels encrypted).
        options |= {"ssl_context": context, "auth_require_tls": False}
    if users:
        options |= {"authenticator": recorder.authenticate, "auth_required": True}
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Smtp(port=port, recorder=recorder)
    finally:
        controller.stop()
