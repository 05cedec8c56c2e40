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
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from vigil_core.kinds import (
    DnsRcode,
    DnsRecordType,
    DnsSettings,
    HttpSettings,
    JsonOp,
    Method,
    PushSettings,
    StartTls,
    TlsSettings,
)

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
        description="http:// or https:// URL. A password in it (https://user:pw@host/) is"
        ' refused unless allow_url_password is true, and reads show it as "********"',
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
Headers = Annotated[
    dict[HeaderName, HeaderValue],
    Meta(
        max_length=50,
        description='Request headers. The values are write-only: reads show "********", and'
        " a write that sends that back keeps the stored value (while the URL keeps its scheme,"
        " host and port)",
    ),
]
MaxRedirects = Annotated[int, Meta(ge=0, le=30)]
AllowUrlPassword = Annotated[
    bool,
    Meta(
        description="Accept a password in the URL (https://user:pw@host/); prefer an"
        " Authorization header"
    ),
]
# Below the timeout (a rule in rules.py): a slower answer fails with error class `slow`.
MaxLatencyMs = Annotated[
    float,
    Meta(gt=0, le=86_400_000, description="Milliseconds; a slower answer fails as `slow`"),
]
DaysValid = Annotated[int, Meta(ge=0, le=3650)]
# A DNS name to resolve: labels as in Host, "_" allowed (SRV, DMARC), a trailing dot allowed.
DnsName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=254,
        pattern=r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
        r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?)$",
        description="The DNS name to resolve (at most 253 characters, a trailing dot allowed)",
    ),
]
DnsServer = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=60,
        pattern=r"^[0-9A-Za-z:._\[\]-]+$",
        description='A name server by address: "IP", "IPv4:port" or "[IPv6]:port" (port 53'
        " when left out); null for the worker's resolvers",
    ),
]
DnsExpected = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]],
    Meta(
        max_length=50,
        description="Values the answer must hold, as the record's text (an address, a name,"
        ' "10 mail.example.com." for MX); compared as `match` says',
    ),
]
ServerName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=253,
        pattern=r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
        r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?)$",
        description="The name sent as SNI and verified in the certificate; null: the host",
    ),
]
PeriodS = Annotated[
    float,
    Meta(
        ge=10,
        le=86400,
        description="Seconds between the pings the sender promises, 10 s to 1 day",
    ),
]
GraceS = Annotated[
    float, Meta(ge=0, le=86400, description="Seconds a ping may be late before it is missed")
]
JsonPath = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00]*$",
        description='A JMESPath expression on the JSON body, e.g. "status" or "items[0].id"',
    ),
]
MAX_JSON_CONDITIONS = 50
MAX_REGEX = 500
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

# The defaults of each kind's options.
_HTTP = HttpSettings()
_DNS = DnsSettings()
_TLS = TlsSettings()
_PUSH = PushSettings()
DEFAULT_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_S = 10.0


class JsonCondition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule on the JSON body: `path` (JMESPath) compared by `op` with `value`. `value` is
    any JSON value (a number or a string for <, <=, >, >=; a regular expression for matches);
    exists and not_exists take none."""

    path: JsonPath
    op: JsonOp
    value: Any | UnsetType = UNSET


JsonConditions = Annotated[list[JsonCondition], Meta(max_length=MAX_JSON_CONDITIONS)]


class _Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    name: Name
    failure_threshold: Threshold = 1
    success_threshold: Threshold = 1
    labels: Labels = msgspec.field(default_factory=dict)
    enabled: bool = True


class _Common(_Base, kw_only=True):
    """A kind the worker polls: every interval_s, each check under timeout_s."""

    interval_s: IntervalS = DEFAULT_INTERVAL_S
    # Unset means 10 s, or half the interval when that is shorter.
    timeout_s: TimeoutS | UnsetType = UNSET


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
    keyword_regex: bool = _HTTP.keyword_regex
    json: JsonConditions = msgspec.field(default_factory=list)
    tls_min_days_valid: DaysValid | None = _HTTP.tls_min_days_valid
    max_latency_ms: MaxLatencyMs | None = _HTTP.max_latency_ms
    allow_url_password: AllowUrlPassword = _HTTP.allow_url_password


class TcpFields(_Common):
    host: Host
    port: Port
    max_latency_ms: MaxLatencyMs | None = None


class IcmpFields(_Common):
    host: Host
    max_latency_ms: MaxLatencyMs | None = None


class DnsFields(_Common):
    query_name: DnsName
    record_type: DnsRecordType = _DNS.record_type
    server: DnsServer | None = _DNS.server
    expected_rcode: DnsRcode = _DNS.expected_rcode
    expected: DnsExpected = msgspec.field(default_factory=list)
    match: Literal["any", "all", "exact"] = _DNS.match
    max_latency_ms: MaxLatencyMs | None = _DNS.max_latency_ms


class TlsFields(_Common):
    host: Host
    port: Port
    starttls: StartTls = _TLS.starttls
    server_name: ServerName | None = _TLS.server_name
    min_days_valid: DaysValid = _TLS.min_days_valid
    max_latency_ms: MaxLatencyMs | None = _TLS.max_latency_ms


class PushFields(_Base):
    """Not polled: the sender pings the push URL every period_s (stored as interval_s)."""

    period_s: PeriodS
    grace_s: GraceS = _PUSH.grace_s


class HttpTargetCreate(HttpFields, tag="http"):
    """An HTTP(S) target: up when the status is expected and the keyword rules hold."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class TcpTargetCreate(TcpFields, tag="tcp"):
    """A TCP target: up when a connection to host:port opens."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class IcmpTargetCreate(IcmpFields, tag="icmp"):
    """An ICMP target: up when the host answers an echo request."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class DnsTargetCreate(DnsFields, tag="dns"):
    """A DNS target: up when query_name resolves with the expected rcode and values."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class TlsTargetCreate(TlsFields, tag="tls"):
    """A TLS target: up when the handshake with host:port verifies and the certificate has at
    least min_days_valid days left."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


class PushTargetCreate(PushFields, tag="push"):
    """A push (heartbeat) target: up while pings reach its secret push URL on time."""

    depends_on: DependsOn = msgspec.field(default_factory=list)


TargetCreate = (
    HttpTargetCreate
    | TcpTargetCreate
    | IcmpTargetCreate
    | DnsTargetCreate
    | TlsTargetCreate
    | PushTargetCreate
)
# A target of any kind, whatever form its depends_on takes (ids here, names in apply).
TargetFields = HttpFields | TcpFields | IcmpFields | DnsFields | TlsFields | PushFields
_CREATES = (
    HttpTargetCreate,
    TcpTargetCreate,
    IcmpTargetCreate,
    DnsTargetCreate,
    TlsTargetCreate,
    PushTargetCreate,
)
# Every field a kind's create body takes, `kind` included.
CREATE_FIELDS: dict[str, frozenset[str]] = {
    str(cls.__struct_config__.tag): frozenset(cls.__struct_fields__) | {"kind"} for cls in _CREATES
}
# Each kind's own fields: the parts of its address (ADDRESS_FIELDS), push's period (the
# interval_s column), the rest are its settings.
KIND_FIELDS: dict[str, frozenset[str]] = {
    kind: fields - frozenset(_Common.__struct_fields__) - {"depends_on", "kind"}
    for kind, fields in CREATE_FIELDS.items()
}
ADDRESS_FIELDS = frozenset({"url", "host", "port", "query_name"})
SCHEDULE_FIELDS = frozenset({"period_s"})


class TargetUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update: only the fields sent change; null clears an optional field.

    The merged target is validated as a whole, exactly like a create."""

    name: Name | UnsetType = UNSET
    kind: Literal["http", "tcp", "icmp", "dns", "tls", "push"] | UnsetType = UNSET
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
    keyword_regex: bool | UnsetType = UNSET
    json: JsonConditions | UnsetType = UNSET
    tls_min_days_valid: DaysValid | None | UnsetType = UNSET
    max_latency_ms: MaxLatencyMs | None | UnsetType = UNSET
    allow_url_password: AllowUrlPassword | UnsetType = UNSET
    host: Host | UnsetType = UNSET
    port: Port | UnsetType = UNSET
    query_name: DnsName | UnsetType = UNSET
    record_type: DnsRecordType | UnsetType = UNSET
    server: DnsServer | None | UnsetType = UNSET
    expected_rcode: DnsRcode | UnsetType = UNSET
    expected: DnsExpected | UnsetType = UNSET
    match: Literal["any", "all", "exact"] | UnsetType = UNSET
    starttls: StartTls | UnsetType = UNSET
    server_name: ServerName | None | UnsetType = UNSET
    min_days_valid: DaysValid | UnsetType = UNSET
    period_s: PeriodS | UnsetType = UNSET
    grace_s: GraceS | UnsetType = UNSET


class InMaintenance(msgspec.Struct, kw_only=True):
    """The maintenance window a target is in now (the one that ends last, if several)."""

    window_id: int
    name: str
    ends_at: datetime


class Target(msgspec.Struct, kw_only=True):
    """A stored target. Fields of other kinds are null (url for tcp, host for http, ...).

    A push target's interval_s is its period_s. Its push_url is a secret: only the answers
    about this one target carry it (create, get, replace, patch, pause, resume), never a list.
    Header values and a password in the URL are write-only: every read shows "********".
    """

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
    keyword_regex: bool | None
    json: list[dict[str, Any]] | None
    tls_min_days_valid: int | None
    max_latency_ms: float | None
    allow_url_password: bool | None
    query_name: str | None
    record_type: str | None
    server: str | None
    expected_rcode: str | None
    expected: list[str] | None
    match: str | None
    starttls: str | None
    server_name: str | None
    min_days_valid: int | None
    period_s: float | None
    grace_s: float | None
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
    # From target_state, as in the summary: the status (up, down, pending, paused when
    # disabled, or maintenance while a window covers it), since when, and the last check;
    # tls_expires_at is the certificate's notAfter from the last HTTPS or TLS check.
    status: str | None = None
    since: datetime | None = None
    last_checked_at: datetime | None = None
    last_latency_ms: float | None = None
    last_error_class: str | None = None
    tls_expires_at: datetime | None = None
    push_url: str | None = None
    # The window the target is in now, or null.
    maintenance: InMaintenance | None = None


class TargetPage(msgspec.Struct, kw_only=True):
    """A page of targets ordered by id; `next` is the cursor of the following page or null."""

    items: list[Target]
    next: str | None
