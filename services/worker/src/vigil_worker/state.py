"""The up/down state machine: folds results into their targets' states, in place, and returns the transitions.

pending (new or re-enabled) -> up on the first success, -> down after failure_threshold
consecutive failures; up -> down after failure_threshold consecutive failures; down -> up after
success_threshold consecutive successes. `paused` (a disabled target) behaves like pending.
Every change to down opens an incident and every change from down closes it.

The flush folds thousands of results a batch into states it has just read and writes them
back, so the states are updated where they are rather than copied result by result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Literal

from vigil_core.models import CheckResult

# A status as target_state stores it (its CHECK constraint) and StateChanged carries it.
Status = Literal["up", "down", "pending", "paused"]


@dataclass(slots=True)
class Transition:
    target_id: int
    previous: Status
    status: Status
    at: datetime
    cause: str | None  # the failure that opened an incident; None for a recovery


@dataclass(slots=True)
class Incident:
    """An incident this batch creates: open (ended_at None) or opened and closed within it."""

    target_id: int
    started_at: datetime
    cause: str
    ended_at: datetime | None = None


@dataclass(slots=True)
class TargetState:
    """A row of target_state with the thresholds of its target, as the flush reads it (the
    fields without a default, by name: see flush.py), and what applying results made of it.
    apply_result() and apply_results() update it in place."""

    target_id: int
    status: Status
    since: datetime
    consecutive_ok: int
    consecutive_fail: int
    last_checked_at: datetime | None
    tls_expires_at: datetime | None
    failure_threshold: int
    success_threshold: int
    enabled: bool
    cur_hour: int | None  # the current roll-up hour (hourly.hour_of); None before the first
    # What applying results produced:
    new_incidents: list[Incident] = field(default_factory=list)
    closes_open_incident_at: datetime | None = None
    last: CheckResult | None = None


def cause_of(result: CheckResult) -> str:
    if result.error_message:
        return f"{result.error_class}: {result.error_message}"
    return result.error_class or "failed"


def apply_result(state: TargetState, result: CheckResult) -> Transition | None:
    """Fold one result into `state`, in place; returns the transition it caused, if any.

    A result older than the last one applied (two workers flushing out of order) is stored but
    does not move the state, so the state always follows the newest check.
    """
    if not state.enabled:
        return None
    if state.last_checked_at is not None and result.checked_at < state.last_checked_at:
        return None
    state.last_checked_at = result.checked_at
    state.last = result
    if result.tls_expires_at is not None:
        state.tls_expires_at = result.tls_expires_at
    elif result.ok:
        state.tls_expires_at = None  # a good check without TLS: the target has no certificate
    if result.ok:
        state.consecutive_ok += 1
        state.consecutive_fail = 0
    else:
        state.consecutive_fail += 1
        state.consecutive_ok = 0
    previous = state.status
    new = _next_status(state, result.ok)
    if new == previous:
        return None
    transition = Transition(
        state.target_id,
        previous,
        new,
        result.checked_at,
        cause_of(result) if new == "down" else None,
    )
    state.status = new
    state.since = result.checked_at
    _track_incidents(state, transition)
    return transition


def _next_status(state: TargetState, ok: bool) -> Status:
    """The status the thresholds give after the latest result (counted already)."""
    previous = state.status
    if previous == "up":
        return "down" if state.consecutive_fail >= state.failure_threshold else "up"
    if previous == "down":
        return "up" if state.consecutive_ok >= state.success_threshold else "down"
    if ok:  # pending, paused
        return "up"
    return "down" if state.consecutive_fail >= state.failure_threshold else previous


def _track_incidents(state: TargetState, t: Transition) -> None:
    """The incidents a transition opens or closes, noted on the state for the flush."""
    if t.previous in ("pending", "paused") and not state.new_incidents:
        # An incident left open when the target was disabled while down ends here.
        state.closes_open_incident_at = t.at
    if t.status == "down":
        assert t.cause is not None
        state.new_incidents.append(Incident(state.target_id, t.at, t.cause))
    elif t.previous == "down":
        if state.new_incidents and state.new_incidents[-1].ended_at is None:
            state.new_incidents[-1].ended_at = t.at
        else:
            state.closes_open_incident_at = t.at


# The order results are applied in (hourly.split and the flush use it too).
BY_TARGET_AND_TIME = attrgetter("target_id", "checked_at")


def apply_results(
    states: dict[int, TargetState], results: Iterable[CheckResult]
) -> list[Transition]:
    """Fold results (any order) into the given states, in place, oldest first per target;
    returns the transitions in that order. Results of targets not in `states` are skipped."""
    out: list[Transition] = []
    for result in sorted(results, key=BY_TARGET_AND_TIME):
        state = states.get(result.target_id)
        if state is not None and (t := apply_result(state, result)) is not None:
            out.append(t)
    return out
