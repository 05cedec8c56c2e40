"""The registry from target kind to check function. Adding a kind: a module and an entry here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .base import CheckContext, ClaimedTarget, Outcome
from .http import check_http

Check = Callable[[ClaimedTarget, CheckContext], Awaitable[Outcome]]

REGISTRY: dict[str, Check] = {
    "http": check_http,
}

__all__ = ["REGISTRY", "Check", "CheckContext", "ClaimedTarget", "Outcome"]
