"""The plaintext preambles (SMTP, IMAP, POP3, FTP) that ask a server to start TLS on the same connection."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

# Reads are bounded: a line longer than any of these protocols allows (SMTP's is 512 bytes), and
# a total for the whole preamble, so a server that streams forever fails the check, not the worker.
LINE_MAX = 4096
PREAMBLE_MAX = 64 * 1024
_SHOWN = 200  # characters of a server's line quoted in a message

_REPLY = re.compile(r"(\d{3})([ -])")  # SMTP and FTP: "250-first line", "250 last line"


class Refused(Exception):
    """The server refused to start TLS or does not speak the protocol; str() says which."""


class _Conversation:
    """Lines read and written on the plaintext connection, under the preamble's bounds."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.WriteTransport) -> None:
        self._reader = reader
        self._transport = transport
        self._read = 0

    async def line(self) -> str:
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise Refused(f"the server sent a line longer than {LINE_MAX} bytes") from None
        except asyncio.IncompleteReadError:
            raise Refused(
                "the server closed the connection before it agreed to start TLS"
            ) from None
        self._read += len(raw)
        if self._read > PREAMBLE_MAX:
            raise Refused(f"the server sent more than {PREAMBLE_MAX} bytes before TLS")
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def send(self, command: str) -> None:
        # A command of a few bytes on a connection that has sent nothing else: never a backlog.
        self._transport.write(command.encode("ascii") + b"\r\n")

    async def reply(self, protocol: str) -> tuple[int, str]:
        """An SMTP or FTP reply, several lines long or one: (code, its last line)."""
        line = await self.line()
        first = _REPLY.match(line)
        if first is None:
            raise Refused(f"not an {protocol} reply: {_quoted(line)}")
        code = first.group(1)
        last = first.group(2) == " "
        while not last:  # FTP allows lines without the code between the first and the last
            line = await self.line()
            last = line.startswith(code + " ")
        return int(code), line


def _quoted(line: str) -> str:
    return repr(line[:_SHOWN])


def _shown(line: str) -> str:
    return line[:_SHOWN]


async def _expect(c: _Conversation, protocol: str, code: int, otherwise: str) -> None:
    """An SMTP or FTP reply with this code, or Refused("{otherwise}: {its last line}")."""
    got, line = await c.reply(protocol)
    if got != code:
        raise Refused(f"{otherwise}: {_shown(line)}")


async def _smtp(c: _Conversation, helo: str) -> None:
    await _expect(c, "SMTP", 220, "the server is not ready")
    c.send(f"EHLO {helo}")
    await _expect(c, "SMTP", 250, "EHLO refused")
    c.send("STARTTLS")
    await _expect(c, "SMTP", 220, "STARTTLS refused")


async def _imap(c: _Conversation, helo: str) -> None:
    line = await c.line()
    if not line.upper().startswith("* OK"):
        # PREAUTH and BYE are IMAP too, but STARTTLS is not allowed after either.
        what = "refused" if line.upper().startswith(("* PREAUTH", "* BYE")) else "not an IMAP"
        raise Refused(f"{what} greeting: {_quoted(line)}")
    c.send("a1 STARTTLS")
    while True:
        line = await c.line()
        if line.startswith("* "):
            continue  # untagged data (a CAPABILITY, say) before the answer; bounded by line()
        if line.lower().startswith("a1 "):
            break
        raise Refused(f"not an IMAP answer: {_quoted(line)}")
    if not line[3:].upper().startswith("OK"):
        raise Refused(f"STARTTLS refused: {_shown(line)}")


async def _pop3(c: _Conversation, helo: str) -> None:
    line = await c.line()
    if not line.startswith("+OK"):
        what = "refused" if line.startswith("-ERR") else "not a POP3"
        raise Refused(f"{what} greeting: {_quoted(line)}")
    c.send("STLS")
    line = await c.line()
    if line.startswith("-ERR"):
        raise Refused(f"STLS refused: {_shown(line)}")
    if not line.startswith("+OK"):
        raise Refused(f"not a POP3 answer: {_quoted(line)}")


async def _ftp(c: _Conversation, helo: str) -> None:
    await _expect(c, "FTP", 220, "the server is not ready")
    c.send("AUTH TLS")
    await _expect(c, "FTP", 234, "AUTH TLS refused")


PROTOCOLS: dict[str, Callable[[_Conversation, str], Awaitable[None]]] = {
    "smtp": _smtp,
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
}


async def negotiate(
    protocol: str, reader: asyncio.StreamReader, transport: asyncio.WriteTransport, helo: str
) -> str | None:
    """Speak `protocol` up to the point where TLS starts: None when the server agreed, else why
    not ("smtp: STARTTLS refused: 454 4.7.0 TLS not available").

    `reader` must have been made with limit=LINE_MAX. `helo` is the name SMTP's EHLO gives.
    A connection error (a reset) is raised for the caller to classify; the caller owns the
    deadline, so a server that says nothing makes the check a timeout.
    """
    try:
        await PROTOCOLS[protocol](_Conversation(reader, transport), helo)
    except Refused as exc:
        return f"{protocol}: {exc}"
    return None
