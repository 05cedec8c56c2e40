"""User passwords: argon2id hashes (argon2-cffi) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, 64 MiB, 3 passes).
_HASHER = PasswordHasher()


class PasswordError(ValueError):
    """A new password breaks a rule; the message says which."""


def check_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")
    if not password.strip():
        raise PasswordError("a password cannot be only spaces")


def hash_password(password: str) -> str:
    check_rules(password)
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


@cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so a login takes as long either way and
    its timing does not tell which names exist."""
    return _HASHER.hash("vigil-no-such-user-placeholder")
