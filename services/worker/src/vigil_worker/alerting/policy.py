"""The dispatcher's decisions as pure functions: what an attempt's Outcome makes of a delivery
(sent, tried again when, or failed), and when a channel is storming and may get its digest.

The numbers are docs/alerting.md's: retries after 5 s, 15 s, 45 s, 2 min, 5 min, then every
10 min, each +-20 % so that many deliveries that failed together do not come back together, never
sooner than the receiver's Retry-After, and for 24 h since the delivery was created; storm
control above 20 deliveries to one channel within 60 s, with at most one digest a minute.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .senders.base import Outcome

Uniform = Callable[[float, float], float]  # random.uniform, or a fixed one in tests

RETRY_SCHEDULE_S = (5.0, 15.0, 45.0, 120.0, 300.0)
RETRY_EVERY_S = 600.0
RETRY_JITTER = 0.2
GIVE_UP_AFTER_S = 24 * 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: tuple[float, ...] = RETRY_SCHEDULE_S
    then_every_s: float = RETRY_EVERY_S
    jitter: float = RETRY_JITTER
    give_up_after_s: float = GIVE_UP_AFTER_S

    def delay_s(
        self, attempt: int, retry_after_s: float | None = None, uniform: Uniform = random.uniform
    ) -> float:
        """The pause after attempt number `attempt` (1, 2, ...) failed for a temporary reason."""
        index = max(attempt, 1) - 1
        base = self.schedule_s[index] if index < len(self.schedule_s) else self.then_every_s
        delay = base * uniform(1 - self.jitter, 1 + self.jitter)
        return delay if retry_after_s is None else max(delay, retry_after_s)


Status = Literal["sent", "pending", "failed"]


@dataclass(frozen=True)
class Verdict:
    """What becomes of a delivery after an attempt: its status, the metric's and the log's
    outcome (`sent`, `retry`, `failed`), when to try again, and the error to store."""

    status: Status
    outcome: Literal["sent", "retry", "failed"]
    retry_in_s: float | None = None
    error: str | None = None


def decide(
    outcome: Outcome,
    attempt: int,
    age_s: float,
    policy: RetryPolicy | None = None,
    uniform: Uniform = random.uniform,
) -> Verdict:
    """The Verdict of attempt number `attempt` of a delivery created `age_s` ago.

    A temporary failure is tried again while the delivery is younger than the limit (the last
    attempt may land a little after it), unless the receiver's Retry-After asks to wait past the
    limit: then it fails now rather than be sent a day late.
    """
    policy = policy or RetryPolicy()
    if outcome.ok:
        return Verdict("sent", "sent")
    error = outcome.error or (f"status {outcome.status}" if outcome.status else "failed")
    if not outcome.retry:
        return Verdict("failed", "failed", error=error)
    hours = policy.give_up_after_s / 3600
    if age_s >= policy.give_up_after_s:
        return Verdict("failed", "failed", error=f"gave up after {hours:g} h: {error}")
    after = outcome.retry_after_s
    if after is not None and age_s + after > policy.give_up_after_s:
        return Verdict(
            "failed",
            "failed",
            error=f"{error} (Retry-After {after:.0f}s is past the {hours:g} h limit)",
        )
    return Verdict("pending", "retry", policy.delay_s(attempt, after, uniform), error)


STORM_THRESHOLD = 20
STORM_WINDOW_S = 60.0
DIGEST_EVERY_S = 60.0
# A storm's first digest waits this long after its oldest held delivery was written, so the
# rest of a burst (targets that fail together are detected over about one interval) rides in
# it instead of waiting a whole digest period for the next one. Measured with `bench
# alerting` (100 of 1,000 targets at 1 s breaking at once): without it, 59-83 of 100 firings
# waited the full minute.
DIGEST_GROUP_WAIT_S = 1.0
# Items in one digest at most: a receiver's body limit (nginx's default is 1 MiB) must not
# turn a large storm into one permanent failure that loses every alert in it. A full digest
# does not count toward the once-a-period limit: the rest follow at once.
DIGEST_MAX_ITEMS = 100


@dataclass(frozen=True)
class StormPolicy:
    """More than `threshold` deliveries to one channel created within `window_s`: its due
    deliveries go out as one digest per `digest_every_s` (of at most `max_items`) instead of
    one by one; the first digest of a storm waits `group_wait_s` to gather the burst."""

    threshold: int = STORM_THRESHOLD
    window_s: float = STORM_WINDOW_S
    digest_every_s: float = DIGEST_EVERY_S
    group_wait_s: float = DIGEST_GROUP_WAIT_S
    max_items: int = DIGEST_MAX_ITEMS

    def storming(self, recent: int) -> bool:
        """`recent`: the channel's firing/resolved/reminder deliveries created in the window
        (counted up to threshold + 1, which is all the rule needs)."""
        return recent > self.threshold

    def digest_in_s(self, last_digest_age_s: float | None, oldest_held_age_s: float = 0.0) -> float:
        """Seconds until a storming channel may get its next digest (0: now). `last_digest_
        age_s`: its latest digest that was not full (None: none); `oldest_held_age_s`: how long
        its oldest delivery waiting for the digest has waited."""
        if last_digest_age_s is None or last_digest_age_s >= self.digest_every_s:
            return max(0.0, self.group_wait_s - oldest_held_age_s)  # a new storm
        return self.digest_every_s - last_digest_age_s
