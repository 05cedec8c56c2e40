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


class HttpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An HTTP(S) check: the request it sends and the rules that make the answer a success."""

    method: Method = "GET"
    expected_status: Annotated[tuple[StatusRule, ...], msgspec.Meta(min_length=1)] = ("2xx", "3xx")
    keyword: str | None = None  # must appear in the decoded body
    keyword_absent: str | None = None  # must not appear in it
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    verify_tls: bool = True
    follow_redirects: bool = True
    max_redirects: int = 10
    # Sent with the request (and again on a 307/308). The API does not expose it yet.
    body: str | None = None


class TcpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A TCP check has no settings: host and port are the target's address (format_host_port)."""


class IcmpSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An ICMP check has no settings: the host is the target's address."""


KindSettings = HttpSettings | TcpSettings | IcmpSettings
SETTINGS: dict[str, type[KindSettings]] = {
    "http": HttpSettings,
    "tcp": TcpSettings,
    "icmp": IcmpSettings,
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
