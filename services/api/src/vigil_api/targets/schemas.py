"""Request and response structs for targets: Target, TargetCreate (one struct per kind) and TargetUpdate.

TargetCreate is a union tagged by `kind`, so each kind declares exactly its own fields and an
unknown or misplaced field is rejected by name. Rules that span fields (timeout below interval,
a URL that parses) live in rules.py. A kind's options take their defaults from its settings
struct in vigil_core.kinds, the form in which they are stored and the worker reads them.

Each kind's fields are a base (HttpFields, ...) that its create struct completes with
`depends_on` as target ids; an apply document completes the same bases with target names
(vigil_api.apply.schemas), so both validate a target the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from vigil_core.kinds import HttpSettings, Method

Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^\s\x00]([^\x00\r\n]*[^\s\x00])?$",
        description="Unique name; no leading or trailing spaces",
    ),
]
Url = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        pattern=r"^(?i:https?)://[^\s/?#\x00]+[^\s\x00]*$",
        description="http:// or https:// URL",
    ),
]
# A DNS name (labels of letters, digits, '-' and '_'), an IPv4 address or an IPv6 literal.
Host = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=253,
        pattern=r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
        r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
        r"|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$",
        description="Host name, IPv4 address or IPv6 address (no brackets)",
    ),
]
Port = Annotated[int, Meta(ge=1, le=65535)]
IntervalS = Annotated[
    float, Meta(ge=1, le=86400, description="Seconds between checks, 1 s to 1 day")
]
TimeoutS = Annotated[
    float, Meta(gt=0, lt=86400, description="Seconds; must be less than interval_s")
]
Threshold = Annotated[int, Meta(ge=1, le=100)]
LabelKey = Annotated[
    str, Meta(min_length=1, max_length=63, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
]
LabelValue = Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")]
Labels = Annotated[dict[LabelKey, LabelValue], Meta(max_length=64)]
StatusCode = Annotated[int, Meta(ge=100, le=599)]
StatusClass = Annotated[str, Meta(pattern=r"^[1-5]xx$", description='A class such as "2xx"')]
ExpectedStatus = Annotated[list[StatusCode | StatusClass], Meta(min_length=1, max_length=50)]
Keyword = Annotated[str, Meta(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]
HeaderName = Annotated[
    str, Meta(min_length=1, max_length=100, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
]
HeaderValue = Annotated[str, Meta(max_length=4000, pattern=r"^[^\r\n\x00]*$")]
Headers = Annotated[dict[HeaderName, HeaderValue], Meta(max_length=50)]
MaxRedirects = Annotated[int, Meta(ge=0, le=30)]
MAX_DEPENDENCIES = 100
# Ids are Postgres bigints; a larger number is a client error (400), not a database error.
TargetRef = Annotated[int, Meta(ge=1, le=2**63 - 1)]
DependsOn = Annotated[
    list[TargetRef],
    Meta(
        max_length=MAX_DEPENDENCIES,
        description="Ids of the targets this one depends on: while one of them is down, this"
        " target's alerts are suppressed",
    ),
]

_HTTP = HttpSettings()  # the defaults of an HTTP target's options
DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 10.0


class _Common(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    name: Name
    interval_s: IntervalS = DEFAULT_INTERVAL_S
    # Unset means 10 s, or half the interval when that is shorter.
    timeout_s: TimeoutS | UnsetType = UNSET
    failure_threshold: Threshold = 1
    success_threshold: Threshold = 1
    labels: Labels = msgspec.field(default_factory=dict)
    enabled: bool = True


class HttpFields(_Common):
    url: Url
    method: Method = _HTTP.method
    expected_status: ExpectedStatus = msgspec.field(
        default_factory=lambda: list(_HTTP.expected_status)
    )
    keyword: Keyword | None = _HTTP.keyword
    keyword_absent: Keyword | None = _HTTP.keyword_absent
    headers: Headers = msgspec.field(default_factory=lambda: dict(_HTTP.headers))
    verify_tls: bool = _HTTP.verify_tls
    follow_redirects: bool = _HTTP.follow_redirects
    max_redirects: MaxRedirects = _HTTP.max_redirects


class TcpFields(_Common):
    host: Host
    port: Port


class IcmpFields(_Common):
    host: Host


class HttpTargetCreate(HttpFields, tag="http"):
    """An HTTP(S) target: up when the status is expected and the keyword rules hold."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class TcpTargetCreate(TcpFields, tag="tcp"):
    """A TCP target: up when a connection to host:port opens."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class IcmpTargetCreate(IcmpFields, tag="icmp"):
    """An ICMP target: up when the host answers an echo request."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


TargetCreate = HttpTargetCreate | TcpTargetCreate | IcmpTargetCreate
# A target of any kind, whatever form its depends_on takes (ids here, names in apply).
TargetFields = HttpFields | TcpFields | IcmpFields
# Each kind's own fields: the parts of its address (ADDRESS_FIELDS), the rest are its settings.
KIND_FIELDS: dict[str, frozenset[str]] = {
    str(cls.__struct_config__.tag): frozenset(cls.__struct_fields__)
    - frozenset(_Common.__struct_fields__)
    - {"depends_on"}
    for cls in (HttpTargetCreate, TcpTargetCreate, IcmpTargetCreate)
}
ADDRESS_FIELDS = frozenset({"url", "host", "port"})


class TargetUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update: only the fields sent change; null clears an optional field.

    The merged target is validated as a whole, exactly like a create."""

    name: Name | UnsetType = UNSET
    kind: Literal["http", "tcp", "icmp"] | UnsetType = UNSET
    interval_s: IntervalS | UnsetType = UNSET
    timeout_s: TimeoutS | UnsetType = UNSET
    failure_threshold: Threshold | UnsetType = UNSET
    success_threshold: Threshold | UnsetType = UNSET
    labels: Labels | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    depends_on: DependsOn | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    method: Method | UnsetType = UNSET
    expected_status: ExpectedStatus | UnsetType = UNSET
    keyword: Keyword | None | UnsetType = UNSET
    keyword_absent: Keyword | None | UnsetType = UNSET
    headers: Headers | UnsetType = UNSET
    verify_tls: bool | UnsetType = UNSET
    follow_redirects: bool | UnsetType = UNSET
    max_redirects: MaxRedirects | UnsetType = UNSET
    host: Host | UnsetType = UNSET
    port: Port | UnsetType = UNSET


class Target(msgspec.Struct, kw_only=True):
    """A stored target. Fields of other kinds are null (url for tcp, host for http, ...)."""

    id: int
    name: str
    kind: str
    url: str | None
    host: str | None
    port: int | None
    method: str | None
    expected_status: list[int | str] | None
    keyword: str | None
    keyword_absent: str | None
    headers: dict[str, str] | None
    verify_tls: bool | None
    follow_redirects: bool | None
    max_redirects: int | None
    interval_s: float
    timeout_s: float
    failure_threshold: int
    success_threshold: int
    labels: dict[str, str]
    enabled: bool
    # Ids of the targets this one depends on, in order.
    depends_on: list[int]
    created_at: datetime
    updated_at: datetime
    # From target_state, as in the summary: the status (up, down, pending, or paused when
    # disabled), since when, and the last check; tls_expires_at is the certificate's
    # notAfter from the last HTTPS check.
    status: str | None = None
    since: datetime | None = None
    last_checked_at: datetime | None = None
    last_latency_ms: float | None = None
    last_error_class: str | None = None
    tls_expires_at: datetime | None = None


class TargetPage(msgspec.Struct, kw_only=True):
    """A page of targets ordered by id; `next` is the cursor of the following page or null."""

    items: list[Target]
    next: str | None
