"""A claimed delivery (a row of the dispatcher's `claim`) and the Message it sends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from .message import Message


class Item(msgspec.Struct, kw_only=True, frozen=True):
    """One delivery a digest stands for (from the claim's `items`)."""

    delivery_id: int
    event_id: int
    target_id: int | None
    summary: bool
    seq: int | None
    payload: dict[str, Any]


class Claim(msgspec.Struct, kw_only=True, frozen=True):
    """A delivery this worker holds the lease of, built from the claim's columns by name."""

    id: int
    event_kind: str
    event_id: int | None
    channel_id: int
    channel_kind: str
    config: dict[str, Any]
    target_id: int | None
    summary: bool
    attempts: int  # this attempt's number, from 1
    created_at: datetime
    age_s: float  # since created_at, on the database's clock, when claimed
    payload: dict[str, Any] | None
    seq: int | None
    items: list[Item] | None

    @classmethod
    def from_record(cls, record: Any) -> Claim:
        """From an asyncpg Record (or any mapping) of the claim's columns."""
        return msgspec.convert(dict(record.items()), cls)


def ui_url(public_url: str | None, target_id: int | None) -> str | None:
    """The target's page in the UI, when VIGIL_PUBLIC_URL says where the UI is."""
    if not public_url or target_id is None:
        return None
    return f"{public_url.rstrip('/')}/#/targets/{target_id}"


def _event_message(
    payload: Mapping[str, Any],
    *,
    event_id: int | None,
    delivery_id: int,
    summary: bool,
    seq: int | None,
    target_id: int | None,
    public_url: str | None,
) -> Message:
    return msgspec.convert(
        {
            **payload,
            "event_id": event_id,
            "delivery_id": delivery_id,
            "summary": summary,
            "seq": seq,
            "ui_url": ui_url(public_url, target_id),
        },
        Message,
    )


def message(claim: Claim, public_url: str | None = None) -> Message:
    """What the claimed delivery sends; raises msgspec.ValidationError for a payload that is
    not a Message (a bug: the trigger writes them)."""
    if claim.event_kind == "digest":
        items = tuple(
            _event_message(
                item.payload,
                event_id=item.event_id,
                delivery_id=item.delivery_id,
                summary=item.summary,
                seq=item.seq,
                target_id=item.target_id,
                public_url=public_url,
            )
            for item in claim.items or ()
        )
        return Message(
            event="digest",
            event_id=None,
            delivery_id=claim.id,
            occurred_at=claim.created_at,
            items=items,
        )
    return _event_message(
        claim.payload or {},
        event_id=claim.event_id,
        delivery_id=claim.id,
        summary=claim.summary,
        seq=claim.seq,
        target_id=claim.target_id,
        public_url=public_url,
    )
