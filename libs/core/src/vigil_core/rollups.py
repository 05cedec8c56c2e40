"""The latency buckets of `check_rollups_hourly` and the percentile estimate read from them.

The worker counts each check's latency into the first bucket whose upper bound (ms) is at least
the latency; the API estimates percentiles by interpolating inside the bucket that holds the rank.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

# Upper bounds in milliseconds; the last bucket is +Inf. latency_buckets has len(...) + 1 entries.
LATENCY_BUCKETS_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    300,
    500,
    750,
    1000,
    2000,
    5000,
    10000,
    30000,
)
BUCKET_COUNT = len(LATENCY_BUCKETS_MS) + 1


def bucket_index(latency_ms: float) -> int:
    """The first bucket whose upper bound is >= latency_ms (the last one is +Inf)."""
    return bisect_left(LATENCY_BUCKETS_MS, latency_ms)


def percentile(buckets: Sequence[int], q: float, max_ms: float | None = None) -> float | None:
    """Estimate the q-quantile (0..1) from bucket counts; None when there are no samples."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = LATENCY_BUCKETS_MS[i - 1] if i > 0 else 0.0
            upper = LATENCY_BUCKETS_MS[i] if i < len(LATENCY_BUCKETS_MS) else (max_ms or lower)
            if max_ms is not None:
                upper = min(upper, max_ms)
            frac = (rank - seen) / count
            return lower + (max(upper, lower) - lower) * frac
        seen += count
    return max_ms if max_ms is not None else math.inf
