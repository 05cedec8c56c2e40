"""API tokens (`vgl_` + 40 random base62 characters + a 6-character checksum) and the server keys
that hash them for storage and sign CSRF tokens.

The checksum (CRC32 of the random part) lets secret scanners recognise a token and lets the API
and CLI turn a mistyped one away without a database lookup. A token carries ~238 random bits, so
a keyed hash (HMAC-SHA256, microseconds) protects it at rest as well as a slow password hash
would; the key means a database dump alone does not even allow checking a guess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import zlib
from dataclasses import dataclass

PREFIX = "vgl_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
RANDOM_LENGTH = 40
CHECKSUM_LENGTH = 6
LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
DISPLAY_LENGTH = 8
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + body + _checksum(body)


def well_formed(token: str) -> bool:
    """The prefix, length, alphabet and checksum are right (it may still be unknown)."""
    if len(token) != LENGTH or not token.startswith(PREFIX):
        return False
    rest = token[len(PREFIX) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, check = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return hmac.compare_digest(_checksum(body), check)


def display_prefix(token: str) -> str:
    """What lists show of a token: enough to tell tokens apart, far too little to use."""
    return token[: len(PREFIX) + DISPLAY_LENGTH]


@dataclass(frozen=True, slots=True)
class Keyring:
    """The current server key, and older ones still accepted while a key is rotated."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    def hash(self, secret: str) -> bytes:
        """The stored form of a token or session id, under the current key."""
        return hmac.new(self.current, secret.encode(), hashlib.sha256).digest()

    def candidates(self, secret: str) -> list[bytes]:
        """The stored forms under every accepted key, current first."""
        return [self.hash(secret)] + [
            hmac.new(key, secret.encode(), hashlib.sha256).digest() for key in self.previous
        ]

    def sign(self, purpose: str, value: bytes) -> str:
        """An HMAC of `value` for one purpose (the CSRF token of a session), base64url."""
        return self.signatures(purpose, value)[0]

    def signatures(self, purpose: str, value: bytes) -> tuple[str, ...]:
        """`sign(purpose, value)` under every accepted key, current first: what a page that
        loaded before a key rotation may still send."""
        return tuple(
            base64.urlsafe_b64encode(
                hmac.new(key, purpose.encode() + b"\0" + value, hashlib.sha256).digest()
            )
            .rstrip(b"=")
            .decode()
            for key in (self.current, *self.previous)
        )
