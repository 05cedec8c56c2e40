"""NOTIFY channels and payloads shared by the API and the worker."""

from __future__ import annotations

from typing import Literal

import msgspec

TARGETS_CHANNEL = "vigil_targets"
STATUS_CHANNEL = "vigil_status"
# A credential was revoked, or a user's role or password changed (0014): API replicas drop
# their credential caches.
AUTH_CHANNEL = "vigil_auth"


class TargetChanged(msgspec.Struct, frozen=True):
    """Sent by the targets trigger on every write. A hint: the reader re-reads the row."""

    op: Literal["insert", "update", "delete"]
    id: int


_decoder = msgspec.json.Decoder(TargetChanged)


def decode_target_changed(payload: str) -> TargetChanged | None:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError:
        return None


class StateChanged(msgspec.Struct, frozen=True, tag="state", tag_field="type"):
    """Sent by the worker, in the transaction that changed a target's status."""

    target_id: int
    status: Literal["up", "down", "pending", "paused"]
    previous: Literal["up", "down", "pending", "paused"]
    since: str  # ISO 8601


class ResultsStored(msgspec.Struct, frozen=True, tag="results", tag_field="type"):
    """Sent by the worker after a flush: these targets have new results (at most 400 ids each)."""

    target_ids: list[int]


class MaintenanceChanged(msgspec.Struct, frozen=True, tag="maintenance", tag_field="type"):
    """Sent by the worker when a maintenance window starts or ends: statuses that read
    `maintenance` changed without a check changing them, so clients read them again."""


StatusEvent = StateChanged | ResultsStored | MaintenanceChanged
RESULTS_IDS_PER_NOTIFY = 400

_status_decoder = msgspec.json.Decoder(StatusEvent)


def decode_status_event(payload: str) -> StatusEvent | None:
    try:
        return _status_decoder.decode(payload)
    except msgspec.DecodeError:
        return None


def encode(event: TargetChanged | StatusEvent) -> str:
    return msgspec.json.encode(event).decode()


# A maintenance window, its targets or its occurrences changed (0015): workers re-plan their
# next window boundary and release held firings.
MAINTENANCE_CHANNEL = "vigil_maintenance"
