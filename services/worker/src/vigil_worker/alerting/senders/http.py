"""One HTTP POST and what its answer means, for every HTTP-based sender.

2xx arrived. 429 and 5xx are temporary (a Retry-After header, in seconds or as an HTTP date,
says when to try again). 404 and 410 mean the webhook is gone: permanent, and the channel is
marked broken. Any other status is permanent, with the receiver's own words stored (the first
300 characters of its body). A connection that fails or an answer that does not arrive within
the attempt's timeout is temporary.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Iterable
from typing import Any

import aiohttp
import msgspec

from vigil_core.text import storable

from .base import Outcome, SendContext, redacted

ERROR_BODY_CHARS = 300
READ_CAP = 64 * 1024
USER_AGENT = "Vigil-Alerts"


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at is None:
        return None
    return max(0.0, at.timestamp() - (time.time() if now is None else now))


def outcome_of(status: int, body: str, headers: Any = None) -> Outcome:
    """The Outcome of an HTTP answer (see the module's docstring)."""
    if 200 <= status < 300:
        return Outcome(ok=True, status=status)
    text = storable(" ".join(body.split())[:ERROR_BODY_CHARS])
    error = f"http {status}: {text}" if text else f"http {status}"
    if status == 429 or status >= 500:
        after = retry_after(headers.get("Retry-After")) if headers is not None else None
        return Outcome(ok=False, retry=True, status=status, error=error, retry_after_s=after)
    return Outcome(ok=False, status=status, error=error, broken=status in (404, 410))


def network_error(exc: BaseException) -> Outcome:
    """A failure before an answer: temporary."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Outcome(ok=False, retry=True, error="timeout")
    name = type(exc).__name__
    detail = storable(str(exc))[:ERROR_BODY_CHARS]
    return Outcome(ok=False, retry=True, error=f"{name}: {detail}" if detail else name)


async def post(
    ctx: SendContext,
    url: str,
    *,
    json: Any = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> tuple[Outcome, bytes]:
    """POST and classify; returns the Outcome and the answer's body (up to 64 KiB), which
    senders whose API answers 200 with an error inside (Telegram) read. `secrets` (a URL that
    carries a token, a key) never appear in the Outcome's error, whatever the receiver or the
    client library said."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if json is not None:
        data = msgspec.json.encode(json)
        headers["Content-Type"] = "application/json"
    try:
        async with asyncio.timeout(ctx.timeout_s):
            async with ctx.session.post(
                url, data=data, headers=headers, allow_redirects=False
            ) as resp:
                raw = await resp.content.read(READ_CAP)
                outcome = outcome_of(resp.status, raw.decode("utf-8", "replace"), resp.headers)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return redacted(network_error(exc), (url, *secrets)), b""
    return redacted(outcome, secrets), raw
