"""NOTIFY channels and payloads shared by the API and the worker."""

from __future__ import annotations

from typing import Literal

import msgspec

TARGETS_CHANNEL = "vigil_targets"
STATUS_CHANNEL = "vigil_status"


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
