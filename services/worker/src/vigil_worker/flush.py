"""One flush transaction: a batch's checks, states, incidents, roll-ups and NOTIFYs, together.

In the caller's transaction, so readers never see a result without its consequences: lock the
batch's target_state rows (in target order), skip what is stored already, fold the results
into the states (state.py), close and open incidents, flag the checks made during a
maintenance window, COPY the checks, fold the roll-ups (hourly.py) and store the states with
the NOTIFYs.

Maintenance (migration 0015) costs one statement per flush when no window is near the batch's
time range (batch_windows, no array parameter), and a second, with the batch's targets, when
one is. A check inside a window is stored with `maintenance_window_id`; one inside a window
that uptime excludes (include_in_uptime false) still moves its target's state but adds nothing
to the roll-ups.

Rows are matched by name both ways: lock_states' columns must be TargetState's fields, and
the rows sent of the composite types vigil_state_flush (migration 0007) and vigil_rollup_hour
(0010) must have the attributes named in STATE_FLUSH and ROLLUP_HOUR, which the flush checks
once against the database's (RowTypes). A column or attribute renamed, added or moved is an
error, never swapped values. The rows are tuples in that order, not dicts keyed by name: they
are built and encoded for every target of every flush, and asyncpg encodes a dict for a good
deal more (docs/worker.md).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from vigil_core.db import load_queries
from vigil_core.logging import get_logger
from vigil_core.models import CheckResult
from vigil_core.notify import (
    RESULTS_IDS_PER_NOTIFY,
    STATUS_CHANNEL,
    ResultsStored,
    StateChanged,
    encode,
)

from . import hourly
from .hourly import Split, Sums
from .state import BY_TARGET_AND_TIME, TargetState, Transition, apply_results

Q = load_queries(__package__)
log = get_logger("vigil_worker.results")

# A connection of its own or one lent by a pool: the flush runs on either.
Conn: TypeAlias = "asyncpg.Connection | PoolConnectionProxy"
# A stored check's identity: its target and time (the unique key of `checks` adds due_at).
ResultKey = tuple[int, datetime]


class OfflineResult(CheckResult):
    """A result of a slot the worker scheduled on its own while Postgres was away; skipped
    when another worker stored that slot meanwhile."""


class RowShapeError(Exception):
    """Rows built for a statement do not have the columns or attributes the database has."""


# The attributes of the rows the flush sends, in the order of the tuples it builds.
STATE_FLUSH = (
    "target_id",
    "status",
    "since",
    "consecutive_ok",
    "consecutive_fail",
    "checked_at",
    "ok",
    "latency_ms",
    "status_code",
    "error_class",
    "error_message",
    "tls_expires_at",
    "cur_hour",
    "checks",
    "ok_checks",
    "latency_sum_ms",
    "latency_max_ms",
    "latency_count",
    "latency_buckets",
)
ROLLUP_HOUR = (
    "target_id",
    "hour",
    "checks",
    "ok",
    "latency_sum_ms",
    "latency_max_ms",
    "latency_count",
    "latency_buckets",
)
ROW_TYPES = {"vigil_state_flush": STATE_FLUSH, "vigil_rollup_hour": ROLLUP_HOUR}


class RowTypes:
    """Checks, in every flush, that the database's composite types have the attributes of
    ROW_TYPES in that order (read from pg_attribute, one statement for all of them). Every
    flush, not once: a migration may make a type anew under a running worker, and a connection
    opened after that prepares its statements against the new type without any error, so only
    the check itself can tell."""

    async def check(self, conn: Conn) -> None:
        """Raise RowShapeError for a type whose attributes are not the ones the flush sends."""
        for record in await conn.fetch(Q["composite_attributes"], list(ROW_TYPES)):
            type_name, attributes = record["name"], ROW_TYPES[record["name"]]
            found = tuple(record["attributes"] or ())
            if found != attributes:
                raise RowShapeError(
                    f"{type_name} has the attributes {list(found)}, "
                    f"the flush sends {list(attributes)}"
                )


@dataclass(slots=True)
class Flushed:
    """What a flush transaction did: how many results it stored, and the transitions."""

    stored: int
    transitions: list[Transition]


def key(result: CheckResult) -> ResultKey:
    return result.target_id, result.checked_at


async def flush(
    conn: Conn, batch: list[CheckResult], unsure: set[ResultKey], row_types: RowTypes
) -> Flushed:
    """Store `batch` in the caller's transaction. `unsure`: results a flush may have stored
    already (its commit went through but the answer was lost); those found are skipped."""
    await row_types.check(conn)
    ids = sorted({r.target_id for r in batch})
    states, current_hours = await _lock_states(conn, ids)
    # A target deleted while its check ran has no history to add to.
    rows = await _without_stored(conn, [r for r in batch if r.target_id in states], unsure)
    if not rows:
        return Flushed(0, [])
    # In order of target and time, which apply_results and hourly.split sort by (a sort of
    # sorted input is linear) and which walks the checks index in order.
    rows.sort(key=BY_TARGET_AND_TIME)
    transitions = apply_results(states, rows)
    changed = [s for s in states.values() if s.last is not None]
    await _store_incidents(conn, changed)
    moving = {s.target_id for s in changed}
    marks = await _maintenance(conn, ids, rows)
    # Binary COPY: no per-value conversion to Postgres arrays, the cheapest insert.
    if marks is None:  # no check of the batch is in a window: the rows as they are
        await conn.copy_records_to_table(
            "checks", records=map(_CHECK_ROW, rows), columns=_CHECK_COLUMNS
        )
        hours = hourly.split(rows, current_hours, moving)
    else:
        await conn.copy_records_to_table(
            "checks", records=marks.records(rows), columns=_FLAGGED_COLUMNS
        )
        hours = hourly.split(marks.counted, current_hours, moving, marks.held)
    await _store_hours(conn, hours)
    # The states with their current hours, and the NOTIFYs, in one statement.
    await conn.execute(
        Q["store_batch"],
        state_rows(changed, hours.current),
        STATUS_CHANNEL,
        _payloads(transitions, rows),
    )
    return Flushed(len(rows), transitions)


# lock_states' columns: TargetState's fields without a default, by name and in that order.
_STATE_COLUMNS = tuple(
    f.name for f in fields(TargetState) if f.default is MISSING and f.default_factory is MISSING
)


async def _lock_states(
    conn: Conn, ids: list[int]
) -> tuple[dict[int, TargetState], dict[int, int | None]]:
    """The states of these targets (sorted ids), locked, and their current roll-up hours."""
    records = await conn.fetch(Q["lock_states"], ids)
    if records and tuple(records[0].keys()) != _STATE_COLUMNS:
        raise RowShapeError(
            f"lock_states returns {list(records[0].keys())}, "
            f"TargetState reads {list(_STATE_COLUMNS)}"
        )
    states: dict[int, TargetState] = {}
    current_hours: dict[int, int | None] = {}
    for record in records:
        state = TargetState(*record)  # the columns are its fields, checked above
        states[state.target_id] = state
        current_hours[state.target_id] = state.cur_hour
    return states, current_hours


async def _without_stored(
    conn: Conn, rows: list[CheckResult], unsure: set[ResultKey]
) -> list[CheckResult]:
    """Drop what is stored already: offline results whose slot another worker stored, and
    results of a flush whose commit went through although its answer was lost. A slot is
    recorded once, and so its state and roll-ups count it once."""
    offline = [r for r in rows if isinstance(r, OfflineResult) and r.due_at is not None]
    retried = [r for r in rows if key(r) in unsure] if unsure else []
    if not offline and not retried:
        return rows
    found_slots: set[ResultKey] = set()
    if offline:
        since = min(r.due_at for r in offline if r.due_at is not None) - timedelta(hours=1)
        found_slots = {
            (rec["target_id"], rec["due_at"])
            for rec in await conn.fetch(
                Q["stored_slots"],
                [r.target_id for r in offline],
                [r.due_at for r in offline],
                since,
            )
        }
    found: set[ResultKey] = set()
    if retried:
        found = {
            (rec["target_id"], rec["checked_at"])
            for rec in await conn.fetch(
                Q["stored_results"], [r.target_id for r in retried], [r.checked_at for r in retried]
            )
        }
    if not found_slots and not found:
        return rows
    log.info("results.duplicates_skipped", slots=len(found_slots), retried=len(found))
    return [
        r
        for r in rows
        if key(r) not in found
        and not (isinstance(r, OfflineResult) and (r.target_id, r.due_at) in found_slots)
    ]


@dataclass(slots=True)
class Marks:
    """What maintenance makes of a batch's rows (in the batch's order): the window each one is
    flagged with (None: none), and the rows the roll-ups count and those they leave out."""

    window_ids: list[int | None]
    counted: list[CheckResult]
    held: list[CheckResult]

    def records(self, rows: list[CheckResult]) -> list[tuple[object, ...]]:
        """COPY's rows for _FLAGGED_COLUMNS."""
        return [(*_CHECK_ROW(r), w) for r, w in zip(rows, self.window_ids, strict=True)]


# An occurrence covering a target: (starts_at, ends_at, window_id, include_in_uptime).
_Span = tuple[datetime, datetime, int, bool]


async def _maintenance(conn: Conn, ids: list[int], rows: list[CheckResult]) -> Marks | None:
    """The windows the batch's checks were made in, or None when no check of the batch was
    made in one, which leaves the usual path untouched. One statement when no window is near
    the batch's time range; a second, with the batch's targets, only when one is (an array of
    thousands of ids costs more to send than the rest of the lookup)."""
    occurrences = await conn.fetch(
        Q["batch_windows"], min(r.checked_at for r in rows), max(r.checked_at for r in rows)
    )
    if not occurrences:
        return None
    by_window: dict[int, list[_Span]] = {}
    for o in occurrences:
        by_window.setdefault(o["window_id"], []).append(
            (o["starts_at"], o["ends_at"], o["window_id"], o["include_in_uptime"])
        )
    covered = await conn.fetch(Q["batch_window_targets"], sorted(by_window), ids)
    if not covered:
        return None
    spans: dict[int, list[_Span]] = {}
    for c in covered:
        spans.setdefault(c["target_id"], []).extend(by_window[c["window_id"]])
    for target_spans in spans.values():
        # The window a check is flagged with comes first: the one that ends last, then the
        # lowest id, as vigil_maintenance_at picks the window a target's status shows.
        target_spans.sort(key=lambda s: (-s[1].timestamp(), s[2]))
    return _marks(rows, spans)


def _marks(rows: list[CheckResult], spans: dict[int, list[_Span]]) -> Marks | None:
    window_ids: list[int | None] = []
    counted: list[CheckResult] = []
    held: list[CheckResult] = []
    for r in rows:
        window_id = None
        excluded = False
        for starts_at, ends_at, wid, included in spans.get(r.target_id, ()):
            if starts_at <= r.checked_at < ends_at:
                if window_id is None:
                    window_id = wid
                # Overlapping windows: uptime leaves the check out if any of them says so,
                # as vigil_maintenance_excluded_s counts the time.
                excluded = excluded or not included
        window_ids.append(window_id)
        (held if excluded else counted).append(r)
    if all(w is None for w in window_ids):
        return None
    return Marks(window_ids, counted, held)


async def _store_incidents(conn: Conn, changed: list[TargetState]) -> None:
    """Close the incidents the states' results ended, then open the ones they began."""
    closing = [s for s in changed if s.closes_open_incident_at is not None]
    if closing:
        await conn.execute(
            Q["close_incidents"],
            [s.target_id for s in closing],
            [s.closes_open_incident_at for s in closing],
        )
    incidents = [i for s in changed for i in s.new_incidents]
    if incidents:
        await conn.execute(
            Q["open_incidents"],
            [i.target_id for i in incidents],
            [i.started_at for i in incidents],
            [i.ended_at for i in incidents],
            [i.cause for i in incidents],
        )


async def _store_hours(conn: Conn, hours: Split) -> None:
    """The roll-up hours other than the current ones: completed current hours first."""
    if hours.moved:  # their current hour is complete: into check_rollups_hourly
        await conn.execute(Q["move_hours"], sorted(hours.moved))
    if hours.done:
        await conn.execute(
            Q["add_hours"],
            [hour_row(target_id, hour, sums) for target_id, hour, sums in hours.done],
        )


def _payloads(transitions: list[Transition], rows: list[CheckResult]) -> list[str]:
    """The NOTIFYs of a flush: a StateChanged per transition, then the targets stored."""
    payloads = [
        encode(
            StateChanged(
                target_id=t.target_id, status=t.status, previous=t.previous, since=t.at.isoformat()
            )
        )
        for t in transitions
    ]
    ids = sorted({r.target_id for r in rows})
    payloads += [
        encode(ResultsStored(target_ids=ids[i : i + RESULTS_IDS_PER_NOTIFY]))
        for i in range(0, len(ids), RESULTS_IDS_PER_NOTIFY)
    ]
    return payloads


_CHECK_COLUMNS = (
    "target_id",
    "checked_at",
    "due_at",
    "ok",
    "latency_ms",
    "status_code",
    "error_class",
    "error_message",
    "timings",
    "details",
)
_CHECK_ROW = attrgetter(*_CHECK_COLUMNS)  # COPY's columns are named: the same names
_FLAGGED_COLUMNS = (*_CHECK_COLUMNS, "maintenance_window_id")


def state_rows(
    states: list[TargetState], current: dict[int, tuple[int, Sums]]
) -> list[tuple[object, ...]]:
    """store_batch's vigil_state_flush rows (STATE_FLUSH): each state and what the batch adds
    to its current roll-up hour."""
    rows: list[tuple[object, ...]] = []
    starts: dict[int, datetime] = {}
    for s in states:
        last = s.last
        assert last is not None
        hour, sums = current[s.target_id]
        start = starts.get(hour)
        if start is None:
            start = starts[hour] = hourly.hour_start(hour)
        rows.append(
            (
                s.target_id,
                s.status,
                s.since,
                s.consecutive_ok,
                s.consecutive_fail,
                last.checked_at,
                last.ok,
                last.latency_ms,
                last.status_code,
                last.error_class,
                last.error_message,
                s.tls_expires_at,
                start,
                sums.checks,
                sums.ok,
                sums.latency_sum_ms,
                sums.latency_max_ms,
                sums.latency_count,
                sums.buckets_literal(),
            )
        )
    return rows


def hour_row(target_id: int, hour: int, sums: Sums) -> tuple[object, ...]:
    """add_hours' vigil_rollup_hour row (ROLLUP_HOUR) of one target's hour."""
    return (
        target_id,
        hourly.hour_start(hour),
        sums.checks,
        sums.ok,
        sums.latency_sum_ms,
        sums.latency_max_ms,
        sums.latency_count,
        sums.buckets_literal(),
    )
