"""Reads a certificate's notAfter from its DER bytes (the ssl module only parses verified peers)."""

from __future__ import annotations

from datetime import datetime, timezone


def _read(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at `pos`."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(der[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def certificate_not_after(der: bytes) -> datetime | None:
    """The certificate's expiry (UTC), or None when the bytes are not an X.509 certificate."""
    try:
        _, cert, _ = _read(der, 0)            # Certificate
        _, tbs, _ = _read(der, cert)          # tbsCertificate
        pos = tbs
        tag, _, end = _read(der, pos)
        if tag == 0xA0:                       # [0] version, optional
            pos = end
        for _ in range(3):                    # serialNumber, signature, issuer
            _, _, pos = _read(der, pos)
        _, validity, _ = _read(der, pos)
        _, _, after_pos = _read(der, validity)  # notBefore
        tag, start, end = _read(der, after_pos)
        text = der[start:end].decode("ascii")
    except (IndexError, UnicodeDecodeError):
        return None
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: years 50..99 are 19xx (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
