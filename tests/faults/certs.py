"""Certificates for the zoo's TLS servers: a test CA the worker trusts, and good and bad leaves."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certs:
    ca: Path  # the worker's whole trust store (SSL_CERT_FILE)
    directory: Path  # NAME.pem + NAME.key for each leaf below

    def pair(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _leaf(
    cn: str,
    sans: list[x509.GeneralName],
    not_before: dt.datetime,
    not_after: dt.datetime,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer or (_name(cn), key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def make_certs(directory: Path) -> Certs:
    """A CA and these leaves: `good` (127.0.0.1, CA-signed), `self_signed` (127.0.0.1, no CA),
    `expired` (CA-signed, ended yesterday) and `wrong_host` (CA-signed, for another name)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Vigil fault-suite CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    loopback = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    week = dt.timedelta(days=7)
    leaves = {
        "good": ("127.0.0.1", loopback, now - week, now + week, (ca_name, ca_key)),
        "self_signed": ("127.0.0.1", loopback, now - week, now + week, None),
        "expired": (
            "127.0.0.1",
            loopback,
            now - 3 * week,
            now - dt.timedelta(days=1),
            (ca_name, ca_key),
        ),
        "wrong_host": (
            "wrong.vigil.test",
            [x509.DNSName("wrong.vigil.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.2"))],
            now - week,
            now + week,
            (ca_name, ca_key),
        ),
    }
    certs = Certs(ca=directory / "ca.pem", directory=directory)
    certs.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, (cn, sans, start, end, issuer) in leaves.items():
        cert, key = _leaf(cn, sans, start, end, issuer)
        pem, key_path = certs.pair(name)
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
    return certs
