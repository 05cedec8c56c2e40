"""An in-process cache for answers many clients ask for at once: the public routes' pages, feeds
and badges, and the dashboard's summary pages. Each key is loaded at most once per TTL,
however many requests ask at the same time.

* A value younger than its TTL is served as it is.
* An older one, up to MAX_STALE_S, is still served while one refresh runs in the background, so
  no request waits for a load after the first; the refresh gets the old value, so a page can
  render again what was asked of the old one (the HTML, the JSON) before it is swapped in.
* With no value (or only one older than MAX_STALE_S: the refreshes are failing) a request waits
  for the one load in flight, started by the first request that found none. A load that fails
  fails every request that waited for it (503 from the error map) and is not kept.
* `clear()` (a write in this process, or for the summary a state change heard from any) drops
  every value; a load already running answers the requests that wait for it but is not kept.

Absent pages and badges are cached too (as None), so a burst for an unknown slug costs one
query per TTL. At most MAX_ENTRIES keys are kept, the least recently used going first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vigil_core.logging import get_logger

log = get_logger("vigil_api.public")

V = TypeVar("V")

TTL_S = 5.0
MAX_STALE_S = 60.0
MAX_ENTRIES = 2000


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    loaded_at: float  # when the load that gave `value` started
    retry_at: float = 0.0  # a failed background refresh is not tried again before this


class SharedCache:
    def __init__(
        self,
        ttl_s: float = TTL_S,
        *,
        max_stale_s: float = MAX_STALE_S,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_stale_s = max_stale_s
        self.max_entries = max_entries
        self.loads = 0  # loads started, for tests and logs
        self._entries: OrderedDict[Hashable, _Entry[Any]] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}
        self._generation = 0

    async def get(self, key: Hashable, load: Callable[[Any], Awaitable[V]]) -> V:
        """The value for `key`; `load(previous value or None)` makes a new one."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            age = now - entry.loaded_at
            if age < self.ttl_s:
                return entry.value
            if age < self.max_stale_s:
                if key not in self._loading and now >= entry.retry_at:
                    self._start(key, load, entry.value, background=True)
                return entry.value
        task = self._loading.get(key)
        if task is None:
            task = self._start(key, load, None if entry is None else entry.value, background=False)
        # Shielded: a visitor who leaves does not cancel the load the others wait for.
        return await asyncio.shield(task)

    def _start(
        self, key: Hashable, load: Callable[[Any], Awaitable[Any]], old: Any, *, background: bool
    ) -> asyncio.Task[Any]:
        self.loads += 1
        generation, started = self._generation, self.clock()

        async def run() -> Any:
            value = await load(old)
            if generation == self._generation:
                self._entries[key] = _Entry(value, started)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value

        task = asyncio.create_task(run(), name=f"public-load-{key!r}"[:100])
        self._loading[key] = task

        def done(t: asyncio.Task[Any]) -> None:
            if self._loading.get(key) is t:
                del self._loading[key]
            if t.cancelled() or (exc := t.exception()) is None:
                return
            if background:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.retry_at = self.clock() + self.ttl_s
                log.warning("public.refresh_failed", key=repr(key), error=repr(exc))

        task.add_done_callback(done)
        return task

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1

    async def close(self) -> None:
        tasks = list(self._loading.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def forget_public(state: Any) -> None:
    """After an editor's write: the next visitor of any public page sees it (this process)."""
    cache = state.get("public_cache")
    if isinstance(cache, SharedCache):
        cache.clear()
