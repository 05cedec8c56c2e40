"""Reads a certificate's notAfter from its DER bytes (the ssl module only parses verified peers)."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509


def certificate_not_after(der: bytes) -> datetime | None:
    """The certificate's expiry (UTC), or None when the bytes are not a well-formed certificate.

    A peer controls these bytes: a malformed validity date (or anything else cryptography's
    strict parser refuses) means "expiry unknown", never an exception out of the check.
    """
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None
