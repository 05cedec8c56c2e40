"""Response structs for deliveries: Delivery and DeliveryPage."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

STATUSES = ("pending", "sending", "sent", "failed", "suppressed", "collapsed")
Status = Literal["pending", "sending", "sent", "failed", "suppressed", "collapsed"]
EventKind = Literal["firing", "resolved", "reminder", "test", "digest"]


class Delivery(msgspec.Struct, kw_only=True):
    """One event to one channel. `status`: pending (waiting for next_attempt_at), sending
    (claimed by a worker), sent, failed (a permanent refusal, or 24 h of temporary failures),
    suppressed (recorded, never sent: a target it depends on is down, its target was in the
    maintenance window `maintenance_window_id`, or its firing was suppressed), collapsed (inside the digest `digest_id`, or an outage shorter than the
    route's delay_s). `attempts` > 0 means it may have reached the receiver. `summary`: a
    resolve that stands for a firing held back by delay_s ("down from .. to").
    `released_at`: a firing held by a maintenance window, sent when the window ended while
    the incident was still open (it keeps `maintenance_window_id`)."""

    id: int
    event_id: int | None
    event_kind: EventKind
    channel_id: int
    channel_name: str
    channel_kind: str
    route_id: int | None
    target_id: int | None
    target_name: str | None
    incident_id: int | None
    status: Status
    attempts: int
    summary: bool
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    last_error: str | None
    last_status: int | None
    digest_id: int | None
    maintenance_window_id: int | None = None
    released_at: datetime | None = None


class DeliveryPage(msgspec.Struct, kw_only=True):
    """A page of deliveries, newest first; `next` is the cursor of the following page or null."""

    items: list[Delivery]
    next: str | None
