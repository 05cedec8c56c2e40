"""Sequential request latency through the real API (keep-alive client), for p50/p99 figures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import aiohttp

from .stats import percentile


class RouteMissing(Exception):
    """The API build under test has no such route yet (404 without a problem `detail` of a target)."""


async def latencies(
    session: aiohttp.ClientSession,
    make_url: Callable[[random.Random], str],
    count: int,
    seed: int = 1,
) -> dict[str, float | None]:
    """GET `count` URLs one after another; p50/p99/max in ms. Raises RouteMissing on a 404/405.
    The credentials are the session's own headers (`aiohttp.ClientSession(headers=bearer(...))`)."""
    rng = random.Random(seed)
    times: list[float] = []
    for _ in range(count):
        url = make_url(rng)
        t = time.perf_counter()
        async with session.get(url) as resp:
            await resp.read()
            if resp.status in (404, 405) and not times:
                raise RouteMissing(f"{url} answered {resp.status}")
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}: {(await resp.text())[:300]}")
        times.append((time.perf_counter() - t) * 1000.0)
    return {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99), "max": max(times)}
