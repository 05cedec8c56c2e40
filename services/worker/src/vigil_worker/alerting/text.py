"""The human renderings every chat and mail channel shares (a one-line title, a lead sentence,
facts and a few-line text), so each kind says the same thing in the same words.

Everything here is plain text: a sender that speaks a markup (Slack's mrkdwn) escapes it
itself. Target names, addresses and causes come from users and from targets' answers, so each
piece is folded to one clean line and capped before it is placed (a cause with a newline must
not open a new mail header or forge a line of the message).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Literal

from vigil_core.text import storable

from .message import Message

DIGEST_LINES = 50  # a digest lists at most this many items, then "... and N more"
NAME_CHARS = 200
CAUSE_CHARS = 300
ADDRESS_CHARS = 300

Tone = Literal["down", "up", "info"]


def one_line(value: str, limit: int) -> str:
    """`value` on one line: control characters and runs of whitespace become one space, and at
    most `limit` characters (an ellipsis marks a cut)."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return cut(" ".join(storable(cleaned).split()), limit)


def cut(value: str, limit: int) -> str:
    """`value` in at most `limit` characters, an ellipsis marking a cut (for fields that keep
    their newlines: a digest's list, a message body)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "\u2026"


def duration(seconds: float) -> str:
    """`3m 12s`, `1h`, `2d 3h`, `38s`: the largest unit and the next one, unless it is zero."""
    left = max(0, int(seconds))
    counts: list[tuple[int, str]] = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        n, left = divmod(left, size)
        counts.append((n, unit))
    first = next((i for i, (n, _) in enumerate(counts) if n), len(counts) - 1)
    shown = [counts[first], *(c for c in counts[first + 1 : first + 2] if c[0])]
    return " ".join(f"{n}{unit}" for n, unit in shown)


def clock(at: datetime) -> str:
    """`2024-05-01 10:01:02 UTC`."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(start: datetime, end: datetime, *, dated: bool = False) -> str:
    """`10:01:02 to 10:01:40 UTC` (with `dated`, the day in front), both dates in full when it
    crosses midnight."""
    a, b = start.astimezone(UTC), end.astimezone(UTC)
    if a.date() != b.date():
        return f"{a:%Y-%m-%d %H:%M:%S} to {b:%Y-%m-%d %H:%M:%S} UTC"
    day = f"{a:%Y-%m-%d} " if dated else ""
    return f"{day}{a:%H:%M:%S} to {b:%H:%M:%S} UTC"


def _name(m: Message) -> str:
    return one_line(m.target.name, NAME_CHARS) if m.target else "a target"


def _what(m: Message) -> str:
    """`api (http https://x)`."""
    if m.target is None:
        return "a target"
    address = one_line(m.target.address, ADDRESS_CHARS)
    return f"{_name(m)} ({one_line(m.target.kind, 20)} {address})"


def _cause(m: Message) -> str:
    return one_line(m.incident.cause, CAUSE_CHARS) if m.incident else ""


def _down_for(m: Message) -> float:
    """How long the incident lasted (resolved) or has lasted so far (firing, reminder)."""
    if m.incident is None:
        return 0.0
    end = m.incident.ended_at or m.occurred_at
    return (end - m.incident.started_at).total_seconds()


def summary_sentence(m: Message) -> str:
    """`api was down from 10:01:02 to 10:01:40 UTC (38s): timeout`: a short outage that no
    DOWN message announced (it ended within the route's delay)."""
    if m.incident is None:
        return f"{_name(m)} was down briefly"
    end = m.incident.ended_at or m.occurred_at
    sentence = (
        f"{_name(m)} was down from {span(m.incident.started_at, end)} ({duration(_down_for(m))})"
    )
    cause = _cause(m)
    return f"{sentence}: {cause}" if cause else sentence


def title(m: Message) -> str:
    """The one line a notification shows first (a mail's subject, a push's title)."""
    cause = _cause(m)
    if m.event == "firing":
        return f"DOWN: {_what(m)} - {cause}" if cause else f"DOWN: {_what(m)}"
    if m.event == "resolved":
        if m.summary:
            return summary_sentence(m)
        return f"RESOLVED: {_name(m)} after {duration(_down_for(m))}"
    if m.event == "reminder":
        return f"REMINDER {m.seq or 1}: {_name(m)} down for {duration(_down_for(m))}"
    if m.event == "test":
        return "TEST from Vigil"
    count = len(m.items)
    return f"Vigil: {count} alert" if count == 1 else f"Vigil: {count} alerts"


def lead(m: Message) -> str:
    """One sentence under the title that says what happened in words."""
    cause = _cause(m)
    if m.event == "firing":
        return f"{_name(m)} is failing its checks: {cause}" if cause else f"{_name(m)} is down."
    if m.event == "resolved":
        if m.summary:
            return "It recovered within the route's delay, so no DOWN alert was sent."
        return f"{_name(m)} is up again after {duration(_down_for(m))}."
    if m.event == "reminder":
        still = f"{_name(m)} is still down, for {duration(_down_for(m))} now"
        return f"{still}: {cause}" if cause else f"{still}."
    if m.event == "test":
        return "This is a test message from Vigil: the channel works."
    return f"{len(m.items)} alerts arrived within a minute, so they come as one (times in UTC):"


def labels(m: Message) -> str:
    """`env=prod, team=web` (sorted), or empty."""
    if m.target is None:
        return ""
    pairs = (f"{k}={v}" for k, v in sorted(m.target.labels.items()))
    return one_line(", ".join(pairs), 500)


def facts(m: Message) -> list[tuple[str, str]]:
    """Name and value pairs for the cards that show a table (Teams' FactSet, Discord's fields)
    and the lines of `text`; empty for a digest, whose lines are its items."""
    if m.event == "digest":
        return []
    if m.event == "test":
        return [("Sent at", clock(m.occurred_at))]
    out = [("Target", _what(m))]
    if cause := _cause(m):
        out.append(("Cause", cause))
    if m.incident is not None:
        if m.event == "resolved" and m.incident.ended_at is not None:
            down = span(m.incident.started_at, m.incident.ended_at, dated=True)
            out.append(("Down", f"{down} ({duration(_down_for(m))})"))
        else:
            out.append(("Since", clock(m.incident.started_at)))
            if m.event == "reminder":
                out.append(("Down for", duration(_down_for(m))))
    if tags := labels(m):
        out.append(("Labels", tags))
    return out


def digest_lines(m: Message) -> list[str]:
    """One line per item of a digest, in order (`10:01:02 DOWN: api ...`), at most
    DIGEST_LINES, then `... and N more`."""
    shown = [f"{item.occurred_at.astimezone(UTC):%H:%M:%S} {title(item)}" for item in m.items]
    if len(shown) <= DIGEST_LINES:
        return shown
    return [*shown[:DIGEST_LINES], f"... and {len(shown) - DIGEST_LINES} more"]


def body_lines(m: Message) -> list[str]:
    """The lines under the lead: a digest's items, or `Name: value` facts."""
    if m.event == "digest":
        return digest_lines(m)
    return [f"{name}: {value}" for name, value in facts(m)]


def text(m: Message) -> str:
    """The few-line text: the lead, the facts (or a digest's items) and the UI link."""
    lines = [lead(m), *body_lines(m)]
    if m.ui_url:
        lines.append(f"Open: {m.ui_url}")
    return "\n".join(lines)


def tone(m: Message) -> Tone:
    """What a colour, an emoji or a priority should say: something is down, all is up again,
    or neither (a test). A digest is `down` when any of its items is."""
    if m.event in ("firing", "reminder"):
        return "down"
    if m.event == "resolved":
        return "up"
    if m.event == "digest":
        return "down" if any(tone(item) == "down" for item in m.items) else "up"
    return "info"
