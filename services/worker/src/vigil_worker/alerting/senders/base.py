"""What every sender gets and returns.

A sender never raises for a receiver's failure: it returns an Outcome that says whether the
message arrived, and if not whether trying again can help (`retry`), when (`retry_after_s`, from
a Retry-After header or the receiver's own hint), and whether the channel itself is gone
(`broken`: 404/410, the webhook or chat no longer exists). The dispatcher decides what happens
next from the Outcome alone, so the retry policy has one home.
"""

from __future__ import annotations

from dataclasses import dataclass

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
