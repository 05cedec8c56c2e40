"""Rules that span fields or need parsing, applied after a body decodes into a TargetCreate.

msgspec already checked each field alone (types, ranges, patterns); these are the rest. Every
rule names the JSON field it is about.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import msgspec

from ..errors import FieldError, InvalidInput
from .schemas import DEFAULT_TIMEOUT_S, HttpTargetCreate, IcmpTargetCreate, TargetCreate, TcpTargetCreate


def check(target: TargetCreate, prefix: str = "") -> TargetCreate:
    """Return the target with defaults resolved, or raise InvalidInput naming each broken rule."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(f"{prefix}{field}", message))

    if target.timeout_s is msgspec.UNSET:
        target = msgspec.structs.replace(target, timeout_s=min(DEFAULT_TIMEOUT_S, target.interval_s / 2))
    elif target.timeout_s >= target.interval_s:
        bad("timeout_s", f"must be less than interval_s ({target.interval_s:g})")

    if isinstance(target, HttpTargetCreate):
        _check_url(target.url, bad)
    elif isinstance(target, TcpTargetCreate | IcmpTargetCreate):
        _check_host(target.host, bad)

    if errors:
        raise InvalidInput(errors)
    return target


def _check_url(url: str, bad) -> None:
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


def _check_host(host: str, bad) -> None:
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            bad("host", "is not a valid IPv6 address")
    elif host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            bad("host", "is not a valid IPv4 address")
