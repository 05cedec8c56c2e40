"""Which Host headers the API answers: a page on evil.example whose name resolves to
127.0.0.1 (DNS rebinding) sends `Host: evil.example` and is turned away."""

from __future__ import annotations


def host_name(value: bytes) -> str:
    """`example.com:8000` -> `example.com`; `[::1]:8000` -> `[::1]`; lower case."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[: end + 1] if end != -1 else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class HostPolicy:
    def __init__(self, allowed: frozenset[str] | None) -> None:
        self.allowed = allowed  # None: any host
        self.suffixes = tuple(h[1:] for h in allowed or () if h.startswith("*."))

    def allows(self, host: bytes | None) -> bool:
        if self.allowed is None:
            return True
        if not host:
            return False
        name = host_name(host)
        return name in self.allowed or (bool(self.suffixes) and name.endswith(self.suffixes))
