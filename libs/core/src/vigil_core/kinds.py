"""Each kind's settings, the contract between the API (writes targets.settings) and the worker (reads it).

One frozen struct per kind holds every field with its default, once. The API builds the struct
from a validated request and stores `encode(...)`; the worker reads a row with `decode(kind, ...)`
once per claim. Adding a kind: a struct here and its entry in SETTINGS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# A status code (200) or a class of them ("2xx").
StatusRule = int | str


JsonOp = Literal["==", "!=", "<", "<=", ">", ">=", "contains", "exists", "not_exists", "matches"]
DnsRecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA"]
DnsRcode = Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"]
StartTls = Literal["none", "smtp", "imap", "pop3", "ftp"]


class JsonCondition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule on an HTTP answer's JSON body: the JMESPath `path`, compared by `op` with
    `value` (any JSON value; unused by exists/not_exists; a regular expression for matches)."""

    path: str
    op: JsonOp
    value: Any = None


class HttpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An HTTP(S) check: the request it sends and the rules that make the answer a success."""

    method: Method = "GET"
    expected_status: Annotated[tuple[StatusRule, ...], msgspec.Meta(min_length=1)] = ("2xx", "3xx")
    keyword: str | None = None  # must appear in the decoded body
    keyword_absent: str | None = None  # must not appear in it
    # Every value is write-only: API reads show vigil_core.secrets.MASK.
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    verify_tls: bool = True
    follow_redirects: bool = True
    max_redirects: int = 10
    # Sent with the request (and again on a 307/308). The API does not expose it yet.
    body: str | None = None
    keyword_regex: bool = False  # keyword and keyword_absent are regular expressions
    json: tuple[JsonCondition, ...] = ()  # every condition must hold (error class `json`)
    tls_min_days_valid: int | None = None  # https: fewer days left is `expiring`
    max_latency_ms: float | None = None  # a slower answer is `slow`
    # A password in the URL's userinfo is refused unless this is set (a header is the better
    # place for a credential); reads mask it either way.
    allow_url_password: bool = False


class TcpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A TCP check: host and port are the target's address (format_host_port)."""

    max_latency_ms: float | None = None


class IcmpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An ICMP check: the host is the target's address."""

    max_latency_ms: float | None = None


class DnsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A DNS check: the target's address is the name to resolve; `server` ("host[:port]", None
    for the worker's resolvers) answers it over UDP, with TCP when the answer is truncated."""

    record_type: DnsRecordType = "A"
    server: str | None = None
    expected_rcode: DnsRcode = "NOERROR"
    # Values the answer must hold: any of them, all of them, or exactly these (as a set).
    expected: tuple[str, ...] = ()
    match: Literal["any", "all", "exact"] = "any"
    max_latency_ms: float | None = None


class TlsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A TLS check: the target's address is host:port; the handshake (after STARTTLS for the
    protocols that have it) verifies the chain and host name, and fewer than min_days_valid
    days left is `expiring`."""

    starttls: StartTls = "none"
    server_name: str | None = None  # SNI and the name verified; None: the address's host
    min_days_valid: int = 14
    max_latency_ms: float | None = None


class PushSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A push (heartbeat) target: something calls its secret URL every interval_s (the period);
    no successful ping within interval_s + grace_s of the last one is `missed`."""

    grace_s: float = 60.0


KindSettings = HttpSettings | TcpSettings | IcmpSettings | DnsSettings | TlsSettings | PushSettings
SETTINGS: dict[str, type[KindSettings]] = {
    "http": HttpSettings,
    "tcp": TcpSettings,
    "icmp": IcmpSettings,
    "dns": DnsSettings,
    "tls": TlsSettings,
    "push": PushSettings,
}


class SettingsError(ValueError):
    """Stored settings that are not a valid struct of their kind (or a kind this code lacks)."""


def decode(kind: str, stored: Mapping[str, Any] | None) -> KindSettings:
    """The settings struct of a stored `targets.settings` value; raises SettingsError.

    A field that is absent or null takes its default: rows written before a field existed,
    or by hand, read the same as rows the API writes now.
    """
    struct = SETTINGS.get(kind)
    if struct is None:
        raise SettingsError(f"unknown kind {kind!r}")
    values = {k: v for k, v in (stored or {}).items() if v is not None}
    try:
        return msgspec.convert(values, struct)
    except msgspec.ValidationError as exc:
        raise SettingsError(str(exc)) from None


def encode(settings: KindSettings) -> dict[str, Any]:
    """The `targets.settings` value of a struct: every field that is not None."""
    return {k: v for k, v in msgspec.to_builtins(settings).items() if v is not None}


def format_host_port(host: str, port: int) -> str:
    """A TCP target's address: "host:port", or "[v6]:port" for an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_host_port(address: str) -> tuple[str, int]:
    """The (host, port) of a TCP address in the form targets_address_valid allows."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)
