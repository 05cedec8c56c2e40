"""The unfiltered counts by state, kept in-process for a moment.

Counting every target's state is O(targets) (tens of ms at 100k), and the dashboard asks for
it on every page load, so the answer is reused until any of:

* TTL_S has passed (so it is never more than TTL_S stale, whatever happened elsewhere);
* this API process answered a write (POST/PUT/PATCH/DELETE), before that answer is sent;
* the events hub heard a state change (`vigil_status`) or a target write (`vigil_targets`),
  from any worker or API process.

So counts are exact after the API's own writes, and at most TTL_S behind writes made straight
in the database without a NOTIFY. Filtered counts are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

TTL_S = 2.0


class Cached(Generic[T]):
    """One value, refilled on demand after it expires or is invalidated."""

    def __init__(self, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        self._value: T | None = None
        self._expires_at = 0.0
        self._generation = 0

    def invalidate(self) -> None:
        self._value = None
        self._generation += 1

    async def get(self, fill: Callable[[], Awaitable[T]]) -> T:
        if self._value is not None and time.monotonic() < self._expires_at:
            return self._value
        generation = self._generation
        started = time.monotonic()
        value = await fill()
        # A change seen while the query ran may be missing from its answer: serve it, keep it not.
        if generation == self._generation:
            self._value, self._expires_at = value, started + self.ttl_s
        return value
