"""A per-key token bucket in this process, with bounded memory (the push endpoint's rate limit)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """`rate_per_s` requests a second per key, in bursts of up to `burst`.

    At most `max_keys` buckets are kept; the least recently used one is forgotten first, which
    only ever gives its key a full bucket again (a flood of random keys cannot grow memory).
    Each API process limits on its own: N replicas allow N times the rate.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate_per_s > 0, burst >= 1 and max_keys >= 1 are required")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_keys = max_keys
        self._clock = clock
        # key -> (tokens left, when counted); insertion order is recency (re-inserted on use)
        self._buckets: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        entry = self._buckets.pop(key, None)
        tokens = (
            self._burst
            if entry is None
            else min(self._burst, entry[0] + (now - entry[1]) * self._rate)
        )
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
        return wait
