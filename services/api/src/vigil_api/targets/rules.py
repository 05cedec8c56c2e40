"""Rules that span fields or need parsing, applied after a body decodes into a TargetCreate.

msgspec already checked each field alone (types, ranges, patterns); these are the rest. Every
rule names the JSON field it is about.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec

from ..errors import FieldError, InvalidInput
from .schemas import DEFAULT_TIMEOUT_S, HttpFields, IcmpFields, TargetFields, TcpFields

T = TypeVar("T", bound=TargetFields)


def check(target: T, prefix: str = "") -> T:
    """Return the target with defaults resolved, or raise InvalidInput naming each broken rule."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(f"{prefix}{field}", message))

    if target.timeout_s is msgspec.UNSET:
        target = msgspec.structs.replace(
            target, timeout_s=min(DEFAULT_TIMEOUT_S, target.interval_s / 2)
        )
    elif target.timeout_s >= target.interval_s:
        bad("timeout_s", f"must be less than interval_s ({target.interval_s:g})")

    if (why := invisible(target.name)) is not None:
        bad("name", why)
    for key, value in target.labels.items():
        if (why := invisible(value)) is not None:
            bad(f"labels.{key}", why)

    if isinstance(target, HttpFields):
        _check_url(target.url, bad)
    elif isinstance(target, TcpFields | IcmpFields):
        host = _check_host(target.host, bad)
        if host is not None and host != target.host:
            target = msgspec.structs.replace(target, host=host)

    if errors:
        raise InvalidInput(errors)
    return target


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


def _check_url(url: str, bad: Callable[[str, str], None]) -> None:
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
    elif ":" in parts.hostname:
        try:
            ipaddress.IPv6Address(parts.hostname.split("%")[0])
        except ValueError:
            bad("url", "has an invalid IPv6 address")


def _check_host(host: str, bad: Callable[[str, str], None]) -> str | None:
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
