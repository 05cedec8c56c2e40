"""Percentiles and min/median/max over repeated runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) with linear interpolation; None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    """min / median / max of one figure over the repeated runs (None values are ignored)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"min": None, "median": None, "max": None}
    return {"min": min(present), "median": statistics.median(present), "max": max(present)}


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den
