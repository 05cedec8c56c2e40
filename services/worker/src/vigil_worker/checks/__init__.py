"""The registry from target kind to check function. Adding a kind: a module and an entry here.

Every check has the signature `async (ClaimedTarget, CheckContext) -> Outcome`, reports a
target's failure as a value, and runs under a deadline its caller owns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .base import CheckContext, ClaimedTarget, Outcome
from .http import check_http
from .icmp import check_icmp
from .tcp import check_tcp

Check = Callable[[ClaimedTarget, CheckContext], Awaitable[Outcome]]

REGISTRY: dict[str, Check] = {
    "http": check_http,
    "tcp": check_tcp,
    "icmp": check_icmp,
}

__all__ = ["REGISTRY", "Check", "CheckContext", "ClaimedTarget", "Outcome"]
