"""The masks written twice, in Python (reads, the CLI, the worker's messages) and in SQL (the
audit log's triggers and alert payloads, migration 0014), agree."""

from __future__ import annotations

import pytest

from vigil_core import channels, secrets

ADDRESSES = [
    "https://bob:s3cret@example.com/health",
    "http://bob:p%40ss@127.0.0.1:8080/",
    "https://bob@example.com/",
    "https://bob:@example.com/",
    "https://example.com/a@b",
    "https://example.com/?next=http://x:y@z",
    "127.0.0.1:5432",
    "example.com",
]


@pytest.mark.parametrize("address", ADDRESSES)
async def test_sql_masks_an_address_as_python_does(db, address) -> None:
    assert await db.fetchval("SELECT vigil_mask_address($1)", address) == secrets.mask_address(
        address
    )


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_message_quoting_a_url_loses_its_password(address) -> None:
    masked = secrets.mask_passwords_in(f"more than 5 redirects (the last one from {address})")
    assert "s3cret" not in masked and "p%40ss" not in masked
    if "://" in address and secrets.mask_address(address) != address:
        assert secrets.mask_address(address) in masked


@pytest.mark.parametrize("kind", sorted(channels.SECRETS))
async def test_the_audit_log_masks_every_secret_field_of_every_channel_kind(db, kind) -> None:
    config = {name: "the-secret" for name in channels.SECRETS[kind]}
    masked = await db.fetchval(
        "SELECT vigil_audit_mask('channel', $1::jsonb)", {"kind": kind, "config": config}
    )
    assert masked["config"] == dict.fromkeys(channels.SECRETS[kind], channels.MASK)
