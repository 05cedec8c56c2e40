"""The registry from target kind to check function. Adding a kind: a module and an entry here.

Every check has the signature `async (ClaimedTarget, CheckContext) -> Outcome`, reports a
target's failure as a value, and runs under a deadline its caller owns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from vigil_core.logging import get_logger
from vigil_core.text import storable

from .base import CheckContext, ClaimedTarget, Outcome, failure
from .http import check_http
from .icmp import check_icmp
from .tcp import check_tcp

log = get_logger("vigil_worker.checks")

Check = Callable[[ClaimedTarget, CheckContext], Awaitable[Outcome]]

REGISTRY: dict[str, Check] = {
    "http": check_http,
    "tcp": check_tcp,
    "icmp": check_icmp,
}



# (target, exception type) pairs whose traceback was logged: once each, not once per check.
_LOGGED: set[tuple[int, str]] = set()
_LOGGED_MAX = 10_000


async def run_check(target: ClaimedTarget, ctx: CheckContext) -> Outcome:
    """Run the target's check under its deadline; never raises for anything the target does.

    The deadline's expiry is a `timeout` failure, and a check that raises (a bug, or a case
    the check did not foresee) is an `internal` failure, so a result is stored either way and
    the target's state moves. Messages leave here storable (valid UTF-8, no NUL).
    """
    check = REGISTRY.get(target.kind)
    if check is None:
        return failure("unsupported", f"no check for kind {target.kind!r}")
    try:
        async with asyncio.timeout(target.timeout_s):
            outcome = await check(target, ctx)
    except TimeoutError:
        return failure("timeout", f"no answer within {target.timeout_s:g}s")
    except Exception as exc:  # noqa: BLE001 - any failure of a check is a stored result
        _log_once(target, exc)
        return failure("internal", storable(f"the check failed: {type(exc).__name__}: {exc}"))
    if outcome.error_message is not None:
        outcome.error_message = storable(outcome.error_message)
    return outcome


def _log_once(target: ClaimedTarget, exc: Exception) -> None:
    key = (target.id, type(exc).__name__)
    if key in _LOGGED:
        return
    if len(_LOGGED) >= _LOGGED_MAX:
        _LOGGED.clear()  # bounded: at worst a traceback is logged again
    _LOGGED.add(key)
    log.error("check.internal_error", target_id=target.id, kind=target.kind, exc_info=exc)


__all__ = ["REGISTRY", "Check", "CheckContext", "ClaimedTarget", "Outcome", "run_check"]
