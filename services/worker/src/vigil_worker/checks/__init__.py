"""The registry from target kind to check function. Adding a kind: a module and an entry here.

Every check has the signature `async (ClaimedTarget, CheckContext) -> Outcome`, reports a
target's failure as a value, and runs under a deadline its caller owns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .base import CheckContext, ClaimedTarget, Outcome, failure
from .http import check_http
from .icmp import check_icmp
from .tcp import check_tcp

Check = Callable[[ClaimedTarget, CheckContext], Awaitable[Outcome]]

REGISTRY: dict[str, Check] = {
    "http": check_http,
    "tcp": check_tcp,
    "icmp": check_icmp,
}



async def run_check(target: ClaimedTarget, ctx: CheckContext) -> Outcome:
    """Run the target's check under its deadline; the deadline's expiry is a `timeout` failure."""
    check = REGISTRY.get(target.kind)
    if check is None:
        return failure("unsupported", f"no check for kind {target.kind!r}")
    try:
        async with asyncio.timeout(target.timeout_s):
            return await check(target, ctx)
    except TimeoutError:
        return failure("timeout", f"no answer within {target.timeout_s:g}s")


__all__ = ["REGISTRY", "Check", "CheckContext", "ClaimedTarget", "Outcome", "run_check"]
