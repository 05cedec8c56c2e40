"""What every sender gets and returns.

A sender never raises for a receiver's failure: it returns an Outcome that says whether the
message arrived, and if not whether trying again can help (`retry`), when (`retry_after_s`, from
a Retry-After header or the receiver's own hint), and whether the channel itself is gone
(`broken`: 404/410, the webhook or chat no longer exists). The dispatcher decides what happens
next from the Outcome alone, so the retry policy has one home.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import msgspec


class Outcome(msgspec.Struct, kw_only=True, frozen=True):
    ok: bool
    retry: bool = False
    status: int | None = None  # the receiver's HTTP status (or SMTP reply code)
    error: str | None = None  # short, storable: "http 500: upstream down", "timeout", ...
    retry_after_s: float | None = None
    broken: bool = False


SENT = Outcome(ok=True)


@dataclass(frozen=True, slots=True)
class SendContext:
    """Shared by every send: the HTTP session of the dispatcher (its own connection pool, not
    the checks') and the per-attempt timeout, which the sender applies to its whole exchange."""

    session: aiohttp.ClientSession
    timeout_s: float


REDACTED = "[redacted]"
# Shorter values are not searched for: blanking every "ab" in an error would garble it, and a
# secret that short protects nothing anyway.
MIN_SECRET_CHARS = 4
URL_PIECE_CHARS = 12


def _forms(secret: str) -> set[str]:
    """The ways a secret can show up in an error text: as is, percent-encoded or decoded, and
    for a URL also its path and query (a message may print them without the host)."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/:@"), unquote(secret)}
    parts = urlsplit(secret)
    if parts.scheme in ("http", "https") and parts.netloc:
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        forms |= {tail, unquote(tail), parts.query}
        # A receiver may echo one piece: the token segment of /services/T0/B0/<token>, the
        # value of sig=<signature>. Pieces that long are keys and ids, never plain words.
        pieces = parts.path.split("/") + [q.partition("=")[2] for q in parts.query.split("&")]
        forms |= {unquote(p) for p in pieces if len(p) >= URL_PIECE_CHARS}
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of every secret replaced by REDACTED, longest first."""
    forms = sorted({f for s in secrets if s for f in _forms(s)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def redacted(outcome: Outcome, secrets: Iterable[str]) -> Outcome:
    """The outcome with its error redacted (the same object when there is nothing to hide)."""
    if not outcome.error:
        return outcome
    clean = redact(outcome.error, secrets)
    return outcome if clean == outcome.error else msgspec.structs.replace(outcome, error=clean)
