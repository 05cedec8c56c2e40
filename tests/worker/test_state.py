"""The up/down state machine, table-driven: thresholds, incidents, stale results, all in place."""

from __future__ import annotations

import datetime as dt

import pytest

from vigil_core.models import CheckResult
from vigil_worker.state import TargetState, apply_results

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def state(
    status: str = "pending", fail_t: int = 1, ok_t: int = 1, enabled: bool = True
) -> TargetState:
    return TargetState(
        target_id=1,
        status=status,
        since=T0,
        consecutive_ok=0,
        consecutive_fail=0,
        last_checked_at=None,
        tls_expires_at=None,
        failure_threshold=fail_t,
        success_threshold=ok_t,
        enabled=enabled,
        cur_hour=None,
    )


def results(pattern: str) -> list[CheckResult]:
    """'..xx.' -> ok, ok, fail, fail, ok, one second apart."""
    return [
        CheckResult(
            target_id=1,
            checked_at=T0 + dt.timedelta(seconds=i),
            ok=c == ".",
            error_class=None if c == "." else "timeout",
            error_message=None if c == "." else "no answer",
        )
        for i, c in enumerate(pattern)
    ]


# (id, start status, failure_threshold, success_threshold, results, final status,
#  transitions as "prev>new", incidents as (start index, end index or None), closes open at)
CASES = [
    ("pending-up-on-first-success", "pending", 3, 3, ".", "up", ["pending>up"], [], 0),
    # leaving pending/paused closes an incident left open when the target was disabled
    (
        "pending-down-after-threshold",
        "pending",
        2,
        1,
        "xx",
        "down",
        ["pending>down"],
        [(1, None)],
        1,
    ),
    ("pending-stays-below-threshold", "pending", 3, 1, "xx", "pending", [], [], None),
    ("up-stays-below-threshold", "up", 3, 1, "xx.xx", "up", [], [], None),
    ("up-down-at-threshold", "up", 3, 1, ".xxx", "down", ["up>down"], [(3, None)], None),
    ("down-up-at-threshold", "down", 1, 2, ".x..", "up", ["down>up"], [], 3),
    ("down-stays-when-interrupted", "down", 1, 3, "..x..", "down", [], [], None),
    (
        "flap-within-one-batch",
        "up",
        1,
        1,
        "x.x",
        "down",
        ["up>down", "down>up", "up>down"],
        [(0, 1), (2, None)],
        None,
    ),
    ("paused-behaves-like-pending", "paused", 1, 1, "x", "down", ["paused>down"], [(0, None)], 0),
]


@pytest.mark.parametrize(
    "start, fail_t, ok_t, pattern, final, transitions, incidents, closes",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_transitions(start, fail_t, ok_t, pattern, final, transitions, incidents, closes) -> None:
    s = state(start, fail_t, ok_t)
    got = apply_results({1: s}, results(pattern))
    assert s.status == final
    assert [f"{t.previous}>{t.status}" for t in got] == transitions
    at = lambda i: T0 + dt.timedelta(seconds=i)  # noqa: E731
    assert [(i.started_at, i.ended_at) for i in s.new_incidents] == [
        (at(a), None if b is None else at(b)) for a, b in incidents
    ]
    assert s.closes_open_incident_at == (None if closes is None else at(closes))
    if any(t.status == "down" for t in got):
        assert s.new_incidents[-1].cause == "timeout: no answer"


def test_results_out_of_order_follow_the_newest() -> None:
    s = state("up")
    rs = results("x.")
    apply_results({1: s}, [rs[1]])
    assert apply_results({1: s}, [rs[0]]) == []  # older than what was applied: stored, not folded
    assert s.status == "up" and s.last_checked_at == rs[1].checked_at


def test_disabled_target_keeps_its_state() -> None:
    s = state("paused", enabled=False)
    assert apply_results({1: s}, results("xxx")) == [] and s.status == "paused" and s.last is None
