"""The unfiltered counts by state, kept in-process for a moment.

Counting every target's state is O(targets) (tens of ms at 100k), and the dashboard asks for
it on every page load, so the answer is reused:

* after a write answered by this API process (POST/PUT/PATCH/DELETE), or when the events hub
  hears a state change (`vigil_status`), a target write (`vigil_targets`) or a maintenance
  change from any process, the next request counts again before answering (`invalidate`):
  a client sees its own writes, and one that reads again because of a live event sees it;
* after TTL_S, requests keep getting the last counts while one refresh runs in the
  background;
* counts older than MAX_AGE_S (the refreshes failing) are never served: the request counts.

Filtered counts are never cached.

The pages themselves (`page_cache`) are kept in a SharedCache: cleared by this process's
writes and by a state change heard from any process (a client that reads again because of a
state event must see it), and otherwise at most PAGE_TTL_S old.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from vigil_core.logging import get_logger

from ..cache import SharedCache

log = get_logger("vigil_api.summary")

T = TypeVar("T")

TTL_S = 2.0
MAX_AGE_S = 10.0

PAGE_TTL_S = 1.0
PAGE_ENTRIES = 256  # filter, cursor and limit combinations


def page_cache() -> SharedCache:
    """The summary's answers (encoded JSON) by their query parameters."""
    return SharedCache(PAGE_TTL_S, max_stale_s=MAX_AGE_S, max_entries=PAGE_ENTRIES)


class Cached(Generic[T]):
    """One value: refilled by the request after `invalidate`, in the background after its TTL."""

    def __init__(
        self,
        ttl_s: float = TTL_S,
        *,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_age_s = max_age_s
        self._value: T | None = None
        self._filled_at = 0.0  # when the query that gave _value started
        self._generation = 0
        self._refresh: asyncio.Task | None = None

    def invalidate(self) -> None:
        """The next request counts before it answers."""
        self._value = None
        self._generation += 1

    async def get(self, fill: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        age = now - self._filled_at
        if self._value is None or age >= self.max_age_s:
            return await self._fill(fill)
        if age >= self.ttl_s and self._refresh is None:
            self._refresh = asyncio.create_task(
                self._background(fill), name="summary-counts-refresh"
            )
        return self._value

    async def _fill(self, fill: Callable[[], Awaitable[T]]) -> T:
        generation, started = self._generation, time.monotonic()
        value = await fill()
        # A write answered while the query ran may be missing from its answer: serve it, keep it not.
        if generation == self._generation:
            self._value, self._filled_at = value, started
        return value

    async def _background(self, fill: Callable[[], Awaitable[T]]) -> None:
        try:
            await self._fill(fill)
        except Exception as exc:  # the next request past MAX_AGE_S counts and reports it
            log.warning("summary.counts_refresh_failed", error=repr(exc))
        finally:
            self._refresh = None

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
