"""The retry schedule, the 24 h limit and the storm thresholds, as tables."""

from __future__ import annotations

import random

import pytest

from vigil_worker.alerting.policy import RetryPolicy, StormPolicy, Verdict, decide
from vigil_worker.alerting.senders.base import SENT, Outcome


def low(a: float, b: float) -> float:
    return a


def high(a: float, b: float) -> float:
    return b


def middle(a: float, b: float) -> float:
    return (a + b) / 2


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 5), (2, 15), (3, 45), (4, 120), (5, 300), (6, 600), (7, 600), (100, 600)],
    ids=lambda v: str(v),
)
def test_the_schedule_without_jitter(attempt: int, expected: float) -> None:
    assert RetryPolicy().delay_s(attempt, uniform=middle) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("uniform", "factor"), [(low, 0.8), (high, 1.2)], ids=["minus 20 %", "plus 20 %"]
)
def test_jitter_is_plus_or_minus_20_percent(uniform, factor: float) -> None:
    assert RetryPolicy().delay_s(2, uniform=uniform) == pytest.approx(15 * factor)


def test_real_jitter_stays_within_its_bounds_and_spreads() -> None:
    random.seed(14)
    delays = [RetryPolicy().delay_s(1) for _ in range(500)]
    assert min(delays) >= 4.0 and max(delays) <= 6.0
    assert max(delays) - min(delays) > 1.5  # spread, so failures that came together part


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (1, 30.0, 30.0),  # later than the schedule: the receiver's word
        (1, 1.0, 5.0),  # sooner than the schedule: the schedule
        (6, 0.0, 600.0),
        (2, None, 15.0),
    ],
    ids=["retry-after later", "retry-after sooner", "retry-after zero", "none"],
)
def test_never_sooner_than_retry_after(
    attempt: int, retry_after: float | None, expected: float
) -> None:
    assert RetryPolicy().delay_s(attempt, retry_after, uniform=middle) == pytest.approx(expected)


HOUR = 3600.0
TEMPORARY = Outcome(ok=False, retry=True, status=503, error="http 503: down")


@pytest.mark.parametrize(
    ("outcome", "attempt", "age_s", "expected"),
    [
        (SENT, 1, 0, Verdict("sent", "sent")),
        (SENT, 9, 30 * HOUR, Verdict("sent", "sent")),
        (TEMPORARY, 1, 0, Verdict("pending", "retry", 5.0, "http 503: down")),
        (TEMPORARY, 12, 23.9 * HOUR, Verdict("pending", "retry", 600.0, "http 503: down")),
        (
            TEMPORARY,
            150,
            24 * HOUR,
            Verdict("failed", "failed", error="gave up after 24 h: http 503: down"),
        ),
        (
            Outcome(ok=False, retry=True, error="timeout"),
            3,
            10.0,
            Verdict("pending", "retry", 45.0, "timeout"),
        ),
        (
            Outcome(ok=False, retry=True, status=429, error="http 429", retry_after_s=120.0),
            1,
            0,
            Verdict("pending", "retry", 120.0, "http 429"),
        ),
        (
            Outcome(ok=False, retry=True, status=429, error="http 429", retry_after_s=2 * HOUR),
            1,
            23 * HOUR,
            Verdict(
                "failed", "failed", error="http 429 (Retry-After 7200s is past the 24 h limit)"
            ),
        ),
        (
            Outcome(ok=False, status=400, error="http 400: bad payload"),
            1,
            0,
            Verdict("failed", "failed", error="http 400: bad payload"),
        ),
        (
            Outcome(ok=False, status=410, error="http 410", broken=True),
            1,
            0,
            Verdict("failed", "failed", error="http 410"),
        ),
        (Outcome(ok=False, status=403), 1, 0, Verdict("failed", "failed", error="status 403")),
    ],
    ids=[
        "sent",
        "sent late",
        "temporary: first retry",
        "temporary: every 10 min near the limit",
        "temporary: 24 h since created",
        "timeout",
        "429 with Retry-After",
        "Retry-After past the limit",
        "permanent 4xx",
        "gone (the dispatcher marks the channel broken)",
        "permanent without a message",
    ],
)
def test_decide(outcome: Outcome, attempt: int, age_s: float, expected: Verdict) -> None:
    assert decide(outcome, attempt, age_s, uniform=middle) == expected


@pytest.mark.parametrize(
    ("recent", "storming"),
    [(0, False), (20, False), (21, True), (500, True)],
    ids=["calm", "20 is not a storm", "21 is", "many"],
)
def test_more_than_20_in_the_window_is_a_storm(recent: int, storming: bool) -> None:
    assert StormPolicy().storming(recent) is storming


@pytest.mark.parametrize(
    ("last_digest_age_s", "oldest_held_age_s", "wait_s"),
    [
        (None, 0.0, 1.0),
        (None, 0.4, 0.6),
        (None, 5.0, 0.0),
        (0.0, 5.0, 60.0),
        (45.0, 5.0, 15.0),
        (60.0, 0.0, 1.0),
        (3600.0, 2.0, 0.0),
    ],
    ids=[
        "a new storm gathers its burst",
        "part of the wait passed",
        "held long enough",
        "just sent",
        "15 s to go",
        "a minute ago: a new storm",
        "long ago",
    ],
)
def test_one_digest_per_channel_a_minute(
    last_digest_age_s: float | None, oldest_held_age_s: float, wait_s: float
) -> None:
    wait = StormPolicy().digest_in_s(last_digest_age_s, oldest_held_age_s)
    assert wait == pytest.approx(wait_s)
