"""Reads a certificate's facts from its DER bytes (the ssl module only parses verified peers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509

from vigil_core.text import storable


def certificate_not_after(der: bytes) -> datetime | None:
    """The certificate's expiry (UTC), or None when the bytes are not a well-formed certificate.

    A peer controls these bytes: a malformed validity date (or anything else cryptography's
    strict parser refuses) means "expiry unknown", never an exception out of the check.
    """
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


# Bounds on what a peer's certificate puts into a check's details.
_NAME_MAX = 512
_SAN_MAX = 100
_SAN_LEN_MAX = 256


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What a leaf certificate says about itself, as the check's details show it."""

    subject: str  # RFC 4514 ("CN=example.com,O=Example")
    issuer: str
    sans: tuple[str, ...]  # DNS names and IP addresses, at most _SAN_MAX
    not_before: datetime
    not_after: datetime


def certificate_facts(der: bytes) -> CertificateFacts | None:
    """Subject, issuer, SANs and validity of a DER certificate, or None when it is not one.

    Sizes are bounded and text is storable: the peer chose every byte, also on an unverified
    connection."""
    try:
        cert = x509.load_der_x509_certificate(der)
        return CertificateFacts(
            subject=storable(cert.subject.rfc4514_string()[:_NAME_MAX]),
            issuer=storable(cert.issuer.rfc4514_string()[:_NAME_MAX]),
            sans=_sans(cert),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
        )
    except ValueError:
        return None


def facts_details(facts: CertificateFacts, now: datetime) -> dict[str, object]:
    """A certificate's part of checks.details, the same for the tls kind and https targets."""
    return {
        "subject": facts.subject,
        "issuer": facts.issuer,
        "sans": list(facts.sans),
        "not_before": iso(facts.not_before),
        "not_after": iso(facts.not_after),
        "days_left": days_left(facts.not_after, now),
    }


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    except (x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return ()  # a malformed extension: no SANs to show, the handshake judged the name
    names = [*ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return tuple(storable(n[:_SAN_LEN_MAX]) for n in names[:_SAN_MAX])


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until notAfter (negative once it passed): 6 for six days and 23 hours."""
    return math.floor((not_after - now).total_seconds() / 86400)


def expiring(name: str, not_after: datetime, min_days_valid: int, now: datetime) -> str | None:
    """The `expiring` message when fewer than min_days_valid days are left, else None.

    One rule for the tls kind and https targets' tls_min_days_valid."""
    if not_after - now >= timedelta(days=min_days_valid):
        return None
    if not_after <= now:
        ago = days_left(now, not_after)
        when = "less than a day ago" if ago < 1 else f"{ago} day{'s' if ago != 1 else ''} ago"
        return f"certificate for {name} expired {when} ({iso(not_after)})"
    days = days_left(not_after, now)
    when = "in less than a day" if days < 1 else f"in {days} day{'s' if days != 1 else ''}"
    return f"certificate for {name} expires {when} ({iso(not_after)})"


def iso(at: datetime) -> str:
    """UTC at second precision with a Z: 2026-12-04T10:00:00Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
