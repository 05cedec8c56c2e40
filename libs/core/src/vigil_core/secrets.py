"""Write-only secrets of targets: what reads show in their place, and how a write that echoes
the mask back keeps the stored value.

A target's secrets are its HTTP header values and the password in its URL's userinfo
(`https://user:pw@host/`). Every read (the API's targets, summary and apply diff) shows them
as MASK, the same mask as channel secrets (vigil_core.channels). A write that sends MASK
back keeps the stored value, but only towards the same origin (scheme, host, port): a kept
secret never goes to a host it was not written for, as the worker sends a target's headers to
its own origin only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .channels import MASK

__all__ = [
    "MASK",
    "mask_address",
    "mask_headers",
    "origin",
    "unmask_headers",
    "unmask_url",
    "url_password",
    "with_password",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _userinfo(url: str) -> tuple[str, str, str, str] | None:
    """(before the userinfo, the user, the password, after the userinfo) of a URL whose
    userinfo has a non-empty password, or None. The authority ends at the first / ? or #;
    the password starts after the user's first colon and ends at the authority's last @."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, _ = rest[:end].rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return None
    return f"{scheme}://", user, password, rest[len(userinfo) :]


def url_password(url: str) -> str | None:
    """The password in the URL's userinfo, None when there is none (or it is empty)."""
    parts = _userinfo(url)
    return parts[2] if parts is not None else None


def with_password(url: str, password: str) -> str:
    """The URL with the password of its userinfo replaced (a URL without one is returned as
    it is)."""
    parts = _userinfo(url)
    if parts is None:
        return url
    head, user, _, tail = parts
    return f"{head}{user}:{password}{tail}"


def mask_address(address: str) -> str:
    """A target's address as reads show it: a URL's password masked (`https://u:********@h/`),
    any other address as it is."""
    return with_password(address, MASK)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names as they are, every value masked (any of them may be a credential)."""
    return dict.fromkeys(headers, MASK)


def origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the scheme's default port filled in, or None for a URL that
    does not parse."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", port if port is not None else _DEFAULT_PORTS.get(scheme)


def unmask_url(sent: str, stored: str | None) -> str:
    """The URL a client sent with an echoed MASK password replaced by the stored URL's password
    when both have the same origin; otherwise as it was sent (the caller rejects a MASK left
    in it)."""
    if stored is None or url_password(sent) != MASK:
        return sent
    old = url_password(stored)
    if old is None or origin(sent) != origin(stored):
        return sent
    return with_password(sent, old)


def unmask_headers(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """The headers a client sent with each MASK value replaced by the stored value of the
    header of the same name (names compare without case, as in HTTP); a MASK without a stored
    value stays (the caller rejects it). The caller passes `stored` only for the same origin."""
    old = {name.lower(): value for name, value in stored.items()}
    return {
        name: old.get(name.lower(), value) if value == MASK else value
        for name, value in sent.items()
    }


# scheme://user:password@ inside free text (an error message that quotes a URL).
_USERINFO_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s]*):[^/?#@\s]+@")


def mask_passwords_in(text: str) -> str:
    """Free text with the password of every URL in it masked: a check's error message quotes
    the URL it failed on, and the API shows messages to every reader."""
    if "@" not in text:
        return text
    return _USERINFO_PASSWORD.sub(rf"\1:{MASK}@", text)
