"""The registry from target kind to its check. Adding a kind: its module with its KIND, and an entry here.

Every check has the signature `async (ClaimedTarget, CheckContext) -> Outcome`, reports a
target's failure as a value, and runs under a deadline its caller owns. A kind's settings
struct lives in vigil_core.kinds; what its checks share (a session, a socket) is made by its
start hook and ended by its stop hook, which start() and stop() run for every kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from vigil_core.logging import get_logger
from vigil_core.secrets import mask_passwords_in
from vigil_core.settings import Settings
from vigil_core.text import storable

from . import certificate, dns, http, icmp, push, tcp
from .base import CheckContext, ClaimedTarget, Kind, Outcome, Unreadable, failure
from .resolver import Resolver

log = get_logger("vigil_worker.checks")

REGISTRY: dict[str, Kind[Any, Any]] = {
    kind.name: kind
    for kind in (http.KIND, tcp.KIND, icmp.KIND, dns.KIND, certificate.KIND, push.KIND)
}


async def start(settings: Settings, *, resolver: Resolver | None = None) -> CheckContext:
    """The context the worker's checks share: one resolver (from the settings unless given)
    and every kind's resources, started in registry order. stop() ends them."""
    ctx = CheckContext(
        settings=settings,
        resolver=resolver or Resolver.from_settings(settings),
        loop=asyncio.get_running_loop(),
    )
    try:
        for kind in REGISTRY.values():
            if kind.start is not None:
                ctx.resources[kind.name] = await kind.start(ctx)
    except BaseException:
        await stop(ctx)
        raise
    return ctx


async def stop(ctx: CheckContext) -> None:
    """Stop every kind's resources in reverse order, then the resolver (the HTTP connector uses it)."""
    for kind in reversed(REGISTRY.values()):
        if kind.stop is None or kind.name not in ctx.resources:
            continue
        try:
            await kind.stop(ctx.resources.pop(kind.name))
        except Exception as exc:  # noqa: BLE001 - one kind's failure must not keep the rest open
            log.error("checks.stop_failed", kind=kind.name, exc_info=exc)
    await ctx.resolver.close()


@asynccontextmanager
async def running(
    settings: Settings | None = None, *, resolver: Resolver | None = None
) -> AsyncIterator[CheckContext]:
    """start() and stop() around a block, for tools and tests that run checks outside a worker."""
    ctx = await start(settings or Settings(), resolver=resolver)
    try:
        yield ctx
    finally:
        await stop(ctx)


# (target, exception type) pairs whose traceback was logged: once each, not once per check.
_LOGGED: set[tuple[int, str]] = set()
_LOGGED_MAX = 10_000


async def run_check(target: ClaimedTarget[Any], ctx: CheckContext) -> Outcome:
    """Run the target's check under its deadline; never raises for anything the target does.

    The deadline's expiry is a `timeout` failure, and a check that raises (a bug, or a case
    the check did not foresee) is an `internal` failure, so a result is stored either way and
    the target's state moves. A success slower than the kind's `max_latency_ms` becomes a
    `slow` failure. Messages leave here storable (valid UTF-8, no NUL).
    """
    kind = REGISTRY.get(target.kind)
    if kind is None:
        return failure("unsupported", f"no check for kind {target.kind!r}")
    if not isinstance(target.settings, kind.settings):
        return _unreadable(target)
    loop = ctx.running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(target.timeout_s):
            outcome = await kind.check(target, ctx)
    except TimeoutError:
        return failure("timeout", f"no answer within {target.timeout_s:g}s")
    except Exception as exc:  # noqa: BLE001 - any failure of a check is a stored result
        _log_once(target, exc)
        message = f"the check failed: {type(exc).__name__}: {exc}"
        return failure("internal", storable(mask_passwords_in(message)))
    if outcome.ok:
        _latency_limit(target.settings, outcome, (loop.time() - started) * 1000.0)
    if outcome.error_message is not None:
        # A message may quote the target's URL: its password stays out of the stored result.
        outcome.error_message = storable(mask_passwords_in(outcome.error_message))
    return outcome


def _latency_limit(settings: object, outcome: Outcome, wall_ms: float) -> None:
    """Turn a success slower than the settings' max_latency_ms into a `slow` failure, keeping
    what it measured (latency, timings, status, details, certificate expiry)."""
    # Every kind that measures a latency has the field; a push target has none.
    limit = getattr(settings, "max_latency_ms", None)
    if limit is None:
        return
    # The check's own measure when it has one (HTTP total, TCP connect, ICMP round trip).
    latency = outcome.latency_ms if outcome.latency_ms is not None else wall_ms
    if latency <= limit:
        return
    outcome.latency_ms = latency  # the figure the message names is the one stored
    outcome.ok, outcome.error_class = False, "slow"
    outcome.error_message = f"slow: {_ms(latency)} ms > {_ms(limit)} ms"


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


def _unreadable(target: ClaimedTarget[Any]) -> Outcome:
    settings = target.settings
    why = settings.reason if isinstance(settings, Unreadable) else type(settings).__name__
    return failure(
        "unsupported",
        storable(f"the target's {target.kind} settings are not ones this worker can read: {why}"),
    )


def _log_once(target: ClaimedTarget[Any], exc: Exception) -> None:
    key = (target.id, type(exc).__name__)
    if key in _LOGGED:
        return
    if len(_LOGGED) >= _LOGGED_MAX:
        _LOGGED.clear()  # bounded: at worst a traceback is logged again
    _LOGGED.add(key)
    log.error("check.internal_error", target_id=target.id, kind=target.kind, exc_info=exc)


__all__ = [
    "REGISTRY",
    "CheckContext",
    "ClaimedTarget",
    "Kind",
    "Outcome",
    "run_check",
    "running",
    "start",
    "stop",
]
