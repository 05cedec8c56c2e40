"""The message a delivery sends: the event's payload as stored in alert_events, and its text.

`Message` is what every sender gets. Its JSON encoding is the webhook's body
(senders/webhook.body; docs/alerting.md documents the schema); alerting/text.py renders it for
people, so every channel says the same thing in the same words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

EventKind = Literal["firing", "resolved", "reminder", "test", "digest"]


class TargetInfo(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    name: str
    kind: str
    address: str
    labels: dict[str, str] = msgspec.field(default_factory=dict)


class IncidentInfo(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    started_at: datetime
    ended_at: datetime | None
    cause: str


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """One delivery's content. For a digest, `items` lists the messages it stands for and
    target/incident are None; for a test, both are None too."""

    event: EventKind
    event_id: int | None  # None only for a digest (it has no event of its own)
    delivery_id: int
    occurred_at: datetime
    target: TargetInfo | None = None
    incident: IncidentInfo | None = None
    summary: bool = False  # a resolve that stands for an outage shorter than the route's delay
    seq: int | None = None  # a reminder's number, from 1
    items: tuple[Message, ...] = ()
    ui_url: str | None = None  # the target's page in the UI, when VIGIL_PUBLIC_URL is set
