"""Certificate expiry as the HTTP check records it: read with cryptography, None when malformed."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil_worker.checks import CheckContext, run_check
from vigil_worker.checks.tls import certificate_not_after

from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)

UTC = dt.UTC
KEY = ec.generate_private_key(ec.SECP256R1())
EXPIRED = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)  # UTCTime, in the past
SOON = dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)  # UTCTime
LATE = dt.datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)  # GeneralizedTime (from 2050 on)


def _der(not_after: dt.datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(not_after)
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _malformed_date() -> bytes:
    """A certificate whose notAfter UTCTime starts with letters: same length, so the DER
    structure holds and OpenSSL still serves it, but the date is not a date."""
    der = _der(SOON)
    at = der.index(b"\x17\x0d300506070809Z")
    return der[: at + 2] + b"ZZ" + der[at + 4 :]


# (id, DER bytes, expiry)
CASES = [
    ("utctime", _der(SOON), SOON),
    ("generalizedtime", _der(LATE), LATE),
    ("expired", _der(EXPIRED), EXPIRED),
    ("malformed-date", _malformed_date(), None),
    ("truncated", _der(SOON)[:100], None),
    ("not-der", b"-----BEGIN CERTIFICATE-----", None),
    ("empty", b"", None),
]


@pytest.mark.parametrize("der, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_certificate_not_after(der: bytes, expected: dt.datetime | None) -> None:
    assert certificate_not_after(der) == expected


@pytest.fixture(scope="module")
async def tls_servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, str]]:
    """An HTTPS server per certificate: {"expired": "https://127.0.0.1:PORT", ...}."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello over tls")

    app = web.Application()
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    directory = tmp_path_factory.mktemp("tls-certs")
    key = directory / "key.pem"
    key.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    urls = {}
    for name, der in (("expired", _der(EXPIRED)), ("malformed-date", _malformed_date())):
        cert = directory / f"{name}.pem"
        cert.write_text(ssl.DER_cert_to_PEM_cert(der))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        urls[name] = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield urls
    await runner.cleanup()


# (id, server, settings, ok, error_class, expiry)
CHECK_CASES = [
    # an unverified check still records the peer's expiry, even a past one
    ("expired-unverified", "expired", {"verify_tls": False}, True, None, EXPIRED),
    ("expired-verified", "expired", {}, False, "tls", None),
    # a date that does not parse is an unknown expiry, never a check that raises
    ("malformed-date-unverified", "malformed-date", {"verify_tls": False}, True, None, None),
]


@pytest.mark.parametrize(
    "server, settings, ok, error_class, expiry",
    [c[1:] for c in CHECK_CASES],
    ids=[c[0] for c in CHECK_CASES],
)
async def test_check_records_expiry(
    tls_servers: dict[str, str], ctx: CheckContext, server, settings, ok, error_class, expiry
) -> None:
    outcome = await run_check(target("http", tls_servers[server] + "/ok", 5, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (ok, error_class), outcome.error_message
    assert outcome.tls_expires_at == expiry
    if ok:
        assert outcome.status_code == 200 and outcome.timings["tls"] > 0


async def test_an_https_check_records_its_certificate_for_the_target_page(
    tls_servers: dict[str, str], ctx: CheckContext
) -> None:
    outcome = await run_check(
        target("http", tls_servers["expired"] + "/ok", 5, verify_tls=False), ctx
    )
    assert outcome.ok and outcome.details is not None
    cert = outcome.details["tls"]
    assert cert["not_after"] == EXPIRED.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cert["days_left"] < 0 and cert["subject"] and cert["issuer"]
    # a certificate whose dates do not parse has no facts to show, and the check still passes
    odd = await run_check(
        target("http", tls_servers["malformed-date"] + "/ok", 5, verify_tls=False), ctx
    )
    assert odd.ok and odd.details is None
