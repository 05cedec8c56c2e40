"""Rules that span fields or need parsing, applied after a body decodes into a TargetCreate.

msgspec already checked each field alone (types, ranges, patterns); these are the rest. Every
rule names the JSON field it is about.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import msgspec

from vigil_core import secrets
from vigil_core.patterns import PatternError, compile_re2
from vigil_core.settings import dns_servers

from ..errors import FieldError, InvalidInput
from .schemas import (
    DEFAULT_TIMEOUT_S,
    MAX_REGEX,
    DnsFields,
    HttpFields,
    IcmpFields,
    JsonCondition,
    PushFields,
    TargetFields,
    TcpFields,
    TlsFields,
)

T = TypeVar("T", bound=TargetFields)
Bad = Callable[[str, str], None]

_ORDERED_OPS = frozenset({"<", "<=", ">", ">="})
_VALUELESS_OPS = frozenset({"exists", "not_exists"})


def check(target: T, prefix: str = "") -> T:
    """Return the target with defaults resolved, or raise InvalidInput naming each broken rule."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(f"{prefix}{field}", message))

    if not isinstance(target, PushFields):
        if target.timeout_s is msgspec.UNSET:
            target = msgspec.structs.replace(
                target, timeout_s=min(DEFAULT_TIMEOUT_S, target.interval_s / 2)
            )
        elif target.timeout_s >= target.interval_s:
            bad("timeout_s", f"must be less than interval_s ({target.interval_s:g})")
        _check_max_latency(target, bad)

    if (why := invisible(target.name)) is not None:
        bad("name", why)
    for key, value in target.labels.items():
        if (why := invisible(value)) is not None:
            bad(f"labels.{key}", why)

    target = _check_kind(target, bad)
    if errors:
        raise InvalidInput(errors)
    return target


def _check_kind(target: T, bad: Bad) -> T:
    """The kind's own rules; the target with its host or server in canonical form."""
    if isinstance(target, HttpFields):
        _check_http(target, bad)
    elif isinstance(target, DnsFields):
        _check_dns(target, bad)
        server = _check_server(target.server, bad)
        if server != target.server:
            target = msgspec.structs.replace(target, server=server)
    elif isinstance(target, TcpFields | IcmpFields | TlsFields):
        host = _check_host(target.host, bad)
        if host is not None and host != target.host:
            target = msgspec.structs.replace(target, host=host)
    return target


def _check_max_latency(target: TargetFields, bad: Bad) -> None:
    limit = getattr(target, "max_latency_ms", None)
    timeout = getattr(target, "timeout_s", None)
    if limit is not None and isinstance(timeout, float | int) and limit >= timeout * 1000:
        bad(
            "max_latency_ms",
            f"must be less than timeout_s in milliseconds ({timeout * 1000:g}): a check that"
            " takes longer has timed out",
        )


def _check_http(target: HttpFields, bad: Bad) -> None:
    _check_url(target.url, bad)
    if secrets.url_password(target.url) is not None and not target.allow_url_password:
        bad(
            "url",
            "the URL holds a password; send credentials in a header (Authorization) instead,"
            " or set `allow_url_password: true`",
        )
    if target.keyword_regex:
        for field in ("keyword", "keyword_absent"):
            pattern = getattr(target, field)
            if pattern is not None and (why := regex_error(pattern)) is not None:
                bad(field, why)
    for i, condition in enumerate(target.json):
        _check_condition(condition, _within(f"json[{i}].", bad))
    if target.tls_min_days_valid is not None and not target.url.lower().startswith("https:"):
        bad("tls_min_days_valid", "needs an https:// URL (a plain HTTP answer has no certificate)")


def _within(prefix: str, bad: Bad) -> Bad:
    """`bad` for the fields of a nested object (json[2].path)."""

    def nested(field: str, message: str) -> None:
        bad(f"{prefix}{field}", message)

    return nested


def _check_condition(condition: JsonCondition, bad: Bad) -> None:
    try:
        jmespath.compile(condition.path)
    except jmespath.exceptions.JMESPathError as exc:
        lines = (line.strip() for line in str(exc).splitlines())
        bad("path", f"is not a JMESPath expression ({' '.join(x for x in lines if x != '^')})")
    op, value = condition.op, condition.value
    if op in _VALUELESS_OPS:
        if value is not msgspec.UNSET and value is not None:
            bad("value", f"must be left out: {op} takes no value")
    elif value is msgspec.UNSET:
        bad("value", f"is required for {op}")
    elif op in _ORDERED_OPS and not (_is_number(value) or isinstance(value, str)):
        bad("value", f"must be a number or a string for {op} (it compares like with like)")
    elif op == "matches":
        if not isinstance(value, str):
            bad("value", "must be a regular expression (a string) for matches")
        elif len(value) > MAX_REGEX:
            bad("value", f"must be at most {MAX_REGEX} characters")
        elif (why := regex_error(value)) is not None:
            bad("value", why)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def regex_error(pattern: str) -> str | None:
    """Why RE2 (the engine the worker matches with) rejects `pattern`, or None."""
    try:
        compile_re2(pattern)
    except PatternError as reason:
        return (
            f"is not a regular expression RE2 accepts ({reason}); RE2 has no backreferences"
            " or lookaround"
        )
    return None


def _check_dns(target: DnsFields, bad: Bad) -> None:
    if len(target.query_name.removesuffix(".")) > 253:
        bad("query_name", "must be at most 253 characters (without the trailing dot)")
    if target.expected and target.expected_rcode != "NOERROR":
        bad(
            "expected",
            f"must be empty when expected_rcode is {target.expected_rcode}: such an answer"
            " holds no records",
        )


def _check_server(server: str | None, bad: Bad) -> str | None:
    """The name server as the worker's resolver takes it ("ip:port", "[v6]:port")."""
    if server is None:
        return None
    try:
        (canonical,) = dns_servers(server)
    except ValueError as exc:
        bad("server", f"{exc}; expected IP, IPv4:PORT or [IPv6]:PORT")
        return server
    return canonical


def invisible(text: str) -> str | None:
    """Why `text` cannot be a name: it holds a control or format character (Unicode Cc, Cf:
    C0/C1 controls, bidi overrides and isolates, zero-width marks), which make two names look
    alike or reorder what a dashboard, a log or an alert shows around them."""
    if text.isprintable():  # C speed; false for Cc and Cf, and for a few we allow (below)
        return None
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cf"):
            return f"must not hold control or format characters (U+{ord(ch):04X} at position {i})"
    return None  # only spaces other than " ", private-use or unassigned characters


def _check_url(url: str, bad: Bad) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        bad("url", f"is not a valid URL ({exc})")
        return
    if parts.scheme.lower() not in ("http", "https"):
        bad("url", "must start with http:// or https://")
    elif not parts.hostname:
        bad("url", "must name a host")
    elif port == 0:
        bad("url", "must not use port 0")
    elif parts.netloc.count("@") > 1:
        # Read one way by urlsplit and another by other parsers: where would the password end?
        bad(
            "url",
            "has more than one @ before the host; write an @ in the user name or password as %40",
        )
    elif ":" in parts.hostname:
        try:
            ipaddress.IPv6Address(parts.hostname.split("%")[0])
        except ValueError:
            bad("url", "has an invalid IPv6 address")


def _check_host(host: str, bad: Bad) -> str | None:
    """The host as it is stored: an IP address in its canonical form (`0:0::1` and `::0001`
    are `::1`, hex in lower case), so that it matches the source of replies and compares
    equal in `vigil apply`; a name as it was given. None when it is invalid."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            bad("host", "is not a valid IPv6 address")
            return None
    if host.replace(".", "").isdigit():
        try:
            return ipaddress.IPv4Address(host).compressed
        except ValueError:
            bad("host", "is not a valid IPv4 address")
            return None
    return host
