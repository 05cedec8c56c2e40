"""The push kind: its slot comes due only when no successful ping came in time, so a claimed slot is `missed`.

A ping moves the target's schedule (the API's record_ping) to anchor_at = ping + grace_s, so the
next slot is due interval_s + grace_s after the last ping; the slot is claimed like any other
(SKIP LOCKED), so several workers record one miss once. No network: the check only says so.
"""

from __future__ import annotations

from vigil_core.kinds import PushSettings

from .base import CheckContext, ClaimedTarget, Kind, Outcome, failure


def span(seconds: float) -> str:
    """A duration as people write it: 90 -> "1m30s", 3600 -> "1h", 2.5 -> "2.5s"."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    tail = secs + (seconds - whole)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if tail or not parts:
        parts.append(f"{round(tail, 3):g}s")
    return "".join(parts)


async def check(target: ClaimedTarget[PushSettings], ctx: CheckContext) -> Outcome:
    period, grace = target.interval_s, target.settings.grace_s
    return failure(
        "missed",
        f"no ping for {span(period + grace)} (period {span(period)} + grace {span(grace)})",
    )


KIND: Kind[PushSettings, None] = Kind(name="push", settings=PushSettings, check=check)
