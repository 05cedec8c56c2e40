"""The up/down state machine: pure functions from a target's state and its results to transitions.

pending (new or re-enabled) -> up on the first success, -> down after failure_threshold
consecutive failures; up -> down after failure_threshold consecutive failures; down -> up after
success_threshold consecutive successes. `unknown` (a disabled target) behaves like pending.
Every change to down opens an incident and every change from down closes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from vigil_core.models import CheckResult


@dataclass(slots=True)
class Transition:
    target_id: int
    previous: str
    status: str
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
    """A row of target_state with the thresholds of its target, as the flush reads it."""

    target_id: int
    status: str
    since: datetime
    consecutive_ok: int
    consecutive_fail: int
    last_checked_at: datetime | None
    tls_expires_at: datetime | None
    failure_threshold: int
    success_threshold: int
    enabled: bool
    # What applying results produced:
    new_incidents: list[Incident] = field(default_factory=list)
    closes_open_incident_at: datetime | None = None
    last: CheckResult | None = None


def cause_of(result: CheckResult) -> str:
    if result.error_message:
        return f"{result.error_class}: {result.error_message}"
    return result.error_class or "failed"


def apply(state: TargetState, result: CheckResult) -> Transition | None:
    """Fold one result into `state`; returns the transition it caused, if any.

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
    if previous == "up":
        new = "down" if state.consecutive_fail >= state.failure_threshold else "up"
    elif previous == "down":
        new = "up" if state.consecutive_ok >= state.success_threshold else "down"
    else:  # pending, unknown
        if result.ok:
            new = "up"
        else:
            new = "down" if state.consecutive_fail >= state.failure_threshold else previous
    if new == previous:
        return None

    transition = Transition(state.target_id, previous, new, result.checked_at,
                            cause_of(result) if new == "down" else None)
    state.status = new
    state.since = result.checked_at
    if previous in ("pending", "unknown") and not state.new_incidents:
        # An incident left open when the target was disabled while down ends here.
        state.closes_open_incident_at = result.checked_at
    if new == "down":
        state.new_incidents.append(Incident(state.target_id, result.checked_at, transition.cause))
    elif previous == "down":
        if state.new_incidents and state.new_incidents[-1].ended_at is None:
            state.new_incidents[-1].ended_at = result.checked_at
        else:
            state.closes_open_incident_at = result.checked_at
    return transition


# The order results are applied in (hourly.split and the flush use it too).
BY_TARGET_AND_TIME = attrgetter("target_id", "checked_at")


def apply_all(states: dict[int, TargetState], results: Iterable[CheckResult]) -> list[Transition]:
    """Fold results (any order) into their targets' states, oldest first per target."""
    out: list[Transition] = []
    for result in sorted(results, key=BY_TARGET_AND_TIME):
        state = states.get(result.target_id)
        if state is not None and (t := apply(state, result)) is not None:
            out.append(t)
    return out
