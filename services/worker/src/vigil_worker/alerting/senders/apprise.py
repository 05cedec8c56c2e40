"""Apprise (the optional extra `vigil-worker[apprise]`): the long tail of services, one Apprise
URL each, sent the title and the text.

Best-effort: Apprise reports only whether each service took the message, never whether trying
again could help, so every failed send is retried as if it were temporary (until the 24 h
limit); a partial success too (at least once: the services that took it get it again). Only a
URL Apprise cannot load at all fails at once, since no retry will make it loadable. The error
names the failed services (Apprise's privacy-masked form) and their last log line.

A worker without the package still starts; its apprise channels fail with how to install it.
Apprise's own log records are kept out of the worker's log: they print URLs, tokens and all.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from vigil_core.channels import AppriseConfig
from vigil_core.text import storable

from .. import text
from ..message import Message
from .base import SENT, Outcome, SendContext, redacted
from .http import ERROR_BODY_CHARS

try:
    import apprise as _apprise
except ImportError:  # the optional extra is not installed
    _apprise = None  # type: ignore[assignment]
else:
    _quiet = logging.getLogger("apprise")
    _quiet.addHandler(logging.NullHandler())  # and no stderr "last resort" either
    _quiet.propagate = False

QUIET = ("TRACE", "DEBUG", "INFO")  # log levels that say nothing about a failure
MISSING = "apprise is not installed: pip install 'vigil-worker[apprise]'"
# The first Apprise() loads every plugin (a second or so): never on the event loop, and once.
_build_lock = threading.Lock()


def _build(urls: list[str]) -> tuple[Any, int | None]:
    """An Apprise object with every URL (in a thread), or the number of the first URL it
    cannot load."""
    assert _apprise is not None
    with _build_lock:
        apobj = _apprise.Apprise(asset=_apprise.AppriseAsset(storage_mode="memory"))
        for number, url in enumerate(urls, 1):
            if not apobj.add(url):
                return None, number
    return apobj, None


def _failure(result: Any) -> str:
    """`apprise: JSON (json://host/...): Failed to send ...; ...` from a failed result."""
    said = []
    for service in getattr(result, "results", ()):
        if service:
            continue
        lines = [entry.message for entry in service.logs() if entry.level not in QUIET]
        words = f": {lines[-1]}" if lines else f": {service.status.name.lower()}"
        where = str(service.url).partition("?")[0]  # the options Apprise appends are noise
        said.append(f"{service.name} ({where}){words}")
    detail = "; ".join(said) or f"no service took the message ({result!r})"
    return storable(" ".join(f"apprise: {detail}".split()))[:ERROR_BODY_CHARS]


async def send(ctx: SendContext, config: AppriseConfig, message: Message) -> Outcome:
    if _apprise is None:
        return Outcome(ok=False, error=MISSING)
    try:
        async with asyncio.timeout(ctx.timeout_s):
            apobj, bad = await asyncio.to_thread(_build, list(config.urls))
            if bad is not None:
                return Outcome(
                    ok=False,
                    error=f"apprise cannot load URL {bad} of {len(config.urls)}: check its "
                    "scheme and form against https://github.com/caronc/apprise/wiki",
                )
            result = await apobj.async_notify(
                body=text.text(message), title=text.title(message), timeout=ctx.timeout_s
            )
    except TimeoutError:
        return Outcome(ok=False, retry=True, error="timeout")
    if result:
        return SENT
    return redacted(Outcome(ok=False, retry=True, error=_failure(result)), config.urls)
