"""Request and response structs for targets (Target, TargetCreate)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2048, pattern=r"^(?i:https?)://[^\s/?#]+[^\s]*$")]
IntervalS = Annotated[float, msgspec.Meta(ge=1, le=86400)]
TimeoutS = Annotated[float, msgspec.Meta(gt=0, le=86400)]


class TargetCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new HTTP target. `timeout_s` must be less than `interval_s`."""

    name: Name
    kind: Literal["http"] = "http"
    url: Url
    interval_s: IntervalS = 60.0
    timeout_s: TimeoutS = 10.0
    enabled: bool = True


class Target(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: str
    url: str | None
    interval_s: float
    timeout_s: float
    enabled: bool
    settings: dict[str, Any]
    labels: dict[str, str]
    failure_threshold: int
    success_threshold: int
    created_at: datetime
    updated_at: datetime
