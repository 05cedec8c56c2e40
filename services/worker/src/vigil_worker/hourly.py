"""Hourly roll-ups of a batch, split against each target's current roll-up hour.

A target's current hour lives in its target_state row (migration 0004), which every flush
updates anyway: at 100k targets an upsert into check_rollups_hourly per check cost more
Postgres time than the rest of the flush. Per target, oldest hour first, the batch's sums go:

* to the current hour, when they are of that hour: store_batch adds them in SQL, so the
  worker never decodes what the row holds;
* to a new current hour, when they are of a later hour: the newest such hour starts the new
  current hour, and the one it replaces is complete, so move_hours copies it to
  check_rollups_hourly first (a statement of its own, before store_batch);
* to check_rollups_hourly (add_hours, after move_hours), when they are of an earlier hour
  (two workers flushing out of order), of an hour in between, or of the current hour while a
  later one replaces it.

Targets whose state does not move (all their results older than the state, or disabled)
keep their current hour; their sums go to check_rollups_hourly as they are.

Results held out of the roll-ups (checks made during a maintenance window that uptime
excludes, flush.py) add nothing anywhere. A target whose state moves still needs a current
hour (store_batch writes one with every state): with only held results it keeps its current
hour, or, having none yet, starts an empty one at its newest held result's hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vigil_core.models import CheckResult
from vigil_core.rollups import BUCKET_COUNT, bucket_index

from .state import BY_TARGET_AND_TIME


class Sums:
    """One target's checks in one hour; latency figures cover successful checks only."""

    __slots__ = ("checks", "ok", "latency_sum_ms", "latency_max_ms", "latency_count", "indexes")

    def __init__(self) -> None:
        self.checks = 0
        self.ok = 0
        self.latency_sum_ms = 0.0
        self.latency_max_ms = 0.0
        self.latency_count = 0
        self.indexes: list[int] = []  # the latency bucket of each successful check

    def add(self, result: CheckResult) -> None:
        self.checks += 1
        if result.ok:
            self.ok += 1
            latency = result.latency_ms
            if latency is not None:
                self.latency_sum_ms += latency
                if latency > self.latency_max_ms:
                    self.latency_max_ms = latency
                self.latency_count += 1
                self.indexes.append(bucket_index(latency))

    def buckets_literal(self) -> str:
        """'{0,1,...}': Postgres array text (unnest() would flatten a 2-D integer array)."""
        indexes = self.indexes
        if not indexes:
            return _NO_BUCKET
        if len(indexes) == 1:
            return _ONE_BUCKET[indexes[0]]
        counts = [0] * BUCKET_COUNT
        for i in indexes:
            counts[i] += 1
        return "{" + ",".join(map(str, counts)) + "}"


def _one_bucket(i: int) -> str:
    return "{" + ",".join("1" if j == i else "0" for j in range(BUCKET_COUNT)) + "}"


# Precomputed: most (target, hour) groups of a batch hold a single check.
_ONE_BUCKET = tuple(_one_bucket(i) for i in range(BUCKET_COUNT))
_NO_BUCKET = "{" + ",".join("0" * BUCKET_COUNT) + "}"


def hour_of(at: datetime) -> int:
    """The hour's number since the epoch: cheaper per row than building an aware datetime."""
    return int(at.timestamp() // 3600)


def hour_start(hour: int) -> datetime:
    """The start of hour number `hour` (hour_of), in UTC."""
    return datetime.fromtimestamp(hour * 3600, UTC)


class _HourCache:
    """hour_of() for many times of the same few hours: a time inside the last hour computed
    costs two comparisons instead of a timestamp() call."""

    __slots__ = ("start", "end", "hour")

    def __init__(self) -> None:
        self.start = self.end = datetime.max.replace(tzinfo=UTC)
        self.hour = 0

    def __call__(self, at: datetime) -> int:
        if self.start <= at < self.end:
            return self.hour
        self.hour = hour = hour_of(at)
        self.start = hour_start(hour)
        self.end = hour_start(hour + 1)
        return hour


@dataclass(slots=True)
class Split:
    """Where a batch's sums go (see the module docstring)."""

    current: dict[int, tuple[int, Sums]] = field(default_factory=dict)  # target: (hour, sums)
    done: list[tuple[int, int, Sums]] = field(default_factory=list)  # (target, hour, sums)
    moved: list[int] = field(default_factory=list)  # targets whose current hour is complete


def split(
    results: Iterable[CheckResult],
    current_hours: Mapping[int, int | None],
    moving: set[int],
    held: Sequence[CheckResult] = (),
) -> Split:
    """Sum `results` per target and hour and split the sums as the module says.

    `current_hours` holds each target's current hour as an hour number (hour_of; None: none
    yet); every target in `moving` (those whose state the batch moves) with results or `held`
    results (not counted, see the module docstring) gets a current hour in the result.
    """
    out = Split()
    for target_id, hours in _sums_by_target(results).items():
        if target_id not in moving:
            out.done.extend((target_id, hour, sums) for hour, sums in hours)
            continue
        current = current_hours.get(target_id)
        newest, newest_sums = hours[-1]
        if current is None or newest > current:
            out.current[target_id] = (newest, newest_sums)
            if current is not None:
                out.moved.append(target_id)
            out.done.extend((target_id, hour, sums) for hour, sums in hours[:-1])
        else:  # nothing newer than the current hour: add to it what is of that hour
            added = None
            for hour, sums in hours:
                if hour == current:
                    added = sums
                else:
                    out.done.append((target_id, hour, sums))
            out.current[target_id] = (current, added or Sums())
    if held:
        _current_hours_of_held(out, held, current_hours, moving)
    return out


def _current_hours_of_held(
    out: Split,
    held: Iterable[CheckResult],
    current_hours: Mapping[int, int | None],
    moving: set[int],
) -> None:
    """A current hour, empty, for each moving target whose results were all held."""
    newest: dict[int, datetime] = {}
    for r in held:
        target_id = r.target_id
        if target_id in moving and target_id not in out.current:
            at = newest.get(target_id)
            if at is None or r.checked_at > at:
                newest[target_id] = r.checked_at
    for target_id, at in newest.items():
        current = current_hours.get(target_id)
        out.current[target_id] = (hour_of(at) if current is None else current, Sums())


def _sums_by_target(results: Iterable[CheckResult]) -> dict[int, list[tuple[int, Sums]]]:
    """Each target's (hour, sums), oldest hour first."""
    hours_of = _HourCache()
    # In order of target and time (cheap when the caller sorted them so already), each
    # target's hours come out grouped and oldest first, with no second sort.
    by_target: dict[int, list[tuple[int, Sums]]] = {}
    for r in sorted(results, key=BY_TARGET_AND_TIME):
        hour = hours_of(r.checked_at)
        hours = by_target.get(r.target_id)
        if hours is None:
            sums = Sums()
            by_target[r.target_id] = [(hour, sums)]
        elif hours[-1][0] == hour:
            sums = hours[-1][1]
        else:
            sums = Sums()
            hours.append((hour, sums))
        sums.add(r)
    return by_target
