"""The in-process cache of answers many clients ask for at once (vigil_api/cache.py: the public
pages, the summary): one load per key however many ask, stale values served while one refresh
runs, and `clear()` for writes."""

from __future__ import annotations

import asyncio

from vigil_api.cache import SharedCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """A load that waits for `release` (so requests really overlap) and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail: Exception | None = None

    async def __call__(self, old: object) -> str:
        self.calls.append(old)
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return f"v{len(self.calls)}"


async def _settle(cache: SharedCache) -> None:
    """Wait until no load is running (bounded)."""
    async with asyncio.timeout(5):
        while cache._loading:
            await asyncio.sleep(0)


async def test_cache_serves_a_value_for_its_ttl() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, max_stale_s=60, clock=clock)
    assert await cache.get("k", load) == "v1"
    clock.now += 4.9
    assert await cache.get("k", load) == "v1"
    assert load.calls == [None]


async def test_cache_burst_on_a_missing_key_waits_for_one_load() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, clock=clock)
    load.release.clear()
    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(25)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 25
    assert len(load.calls) == 1 and cache.loads == 1


async def test_cache_serves_the_stale_value_while_one_refresh_runs() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, max_stale_s=60, clock=clock)
    await cache.get("k", load)
    clock.now += 6
    load.release.clear()
    answers = [await cache.get("k", load) for _ in range(10)]
    assert answers == ["v1"] * 10  # nobody waits for the refresh
    await asyncio.sleep(0)  # the refresh starts
    assert load.calls == [None, "v1"]  # one refresh, handed the old value
    load.release.set()
    await _settle(cache)
    assert await cache.get("k", load) == "v2"


async def test_cache_too_stale_is_not_served() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, max_stale_s=60, clock=clock)
    await cache.get("k", load)
    clock.now += 61
    assert await cache.get("k", load) == "v2"


async def test_cache_a_failed_load_fails_its_waiters_and_is_not_kept() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, clock=clock)
    load.fail = RuntimeError("db away")
    load.release.clear()
    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and len(load.calls) == 1
    load.fail = None
    assert await cache.get("k", load) == "v2"


async def test_cache_a_failed_refresh_keeps_the_old_value_and_waits_before_retrying() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, max_stale_s=60, clock=clock)
    await cache.get("k", load)
    clock.now += 6
    load.fail = RuntimeError("db away")
    assert await cache.get("k", load) == "v1"
    await _settle(cache)
    assert await cache.get("k", load) == "v1"
    assert len(load.calls) == 2  # no new refresh within a TTL of the failure
    clock.now += 5
    load.fail = None
    await cache.get("k", load)
    await _settle(cache)
    assert await cache.get("k", load) == "v3"


async def test_cache_a_visitor_who_leaves_does_not_cancel_the_load() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, clock=clock)
    load.release.clear()
    leaver = asyncio.create_task(cache.get("k", load))
    stayer = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    leaver.cancel()
    load.release.set()
    assert await stayer == "v1"
    assert len(load.calls) == 1


async def test_cache_clear_drops_values_and_a_load_running_across_it() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, clock=clock)
    await cache.get("k", load)
    cache.clear()
    load.release.clear()
    running = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    cache.clear()  # an edit while v2 loads: v2 answers its waiter but is not kept
    load.release.set()
    assert await running == "v2"
    assert await cache.get("k", load) == "v3"


async def test_cache_keeps_at_most_max_entries() -> None:
    clock, load = Clock(), Loader()
    cache = SharedCache(5, max_entries=3, clock=clock)
    for key in "abcd":
        await cache.get(key, load)
    await cache.get("b", load)  # still there: a, the least recently used, went first
    assert len(load.calls) == 4
    await cache.get("a", load)
    assert len(load.calls) == 5
