"""The schema itself rejects bad rows, even when they come straight from SQL."""

from __future__ import annotations

import asyncpg
import pytest

GOOD = dict(
    name="ok",
    kind="http",
    address="http://127.0.0.1:8080/",
    interval_s=60,
    timeout_s=10,
    settings="{}",
    labels="{}",
    failure_threshold=1,
    success_threshold=1,
)

INSERT = """
INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings, labels,
                     failure_threshold, success_threshold)
VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8, $9)
"""

BAD_TARGETS = [
    ("empty_name", dict(name=""), "targets_name_valid"),
    ("name_padded", dict(name=" padded"), "targets_name_valid"),
    ("name_too_long", dict(name="x" * 201), "targets_name_valid"),
    ("unknown_kind", dict(kind="smtp"), "targets_kind_valid"),
    ("http_without_scheme", dict(address="127.0.0.1:8080"), "targets_address_valid"),
    ("http_ftp_scheme", dict(address="ftp://127.0.0.1/"), "targets_address_valid"),
    ("address_with_space", dict(address="http://127.0.0.1/a b"), "targets_address_valid"),
    ("tcp_without_port", dict(kind="tcp", address="127.0.0.1"), "targets_address_valid"),
    ("tcp_port_zero", dict(kind="tcp", address="127.0.0.1:0"), "targets_address_valid"),
    ("tcp_port_too_big", dict(kind="tcp", address="127.0.0.1:70000"), "targets_address_valid"),
    ("icmp_with_path", dict(kind="icmp", address="127.0.0.1/x"), "targets_address_valid"),
    ("interval_zero", dict(interval_s=0, timeout_s=0.5), "targets_interval_valid"),
    ("interval_over_a_day", dict(interval_s=86401), "targets_interval_valid"),
    ("timeout_equals_interval", dict(interval_s=10, timeout_s=10), "targets_timeout_valid"),
    ("timeout_zero", dict(timeout_s=0), "targets_timeout_valid"),
    ("settings_not_object", dict(settings="[]"), "targets_settings_object"),
    ("labels_not_object", dict(labels='"x"'), "targets_labels_object"),
    ("failure_threshold_zero", dict(failure_threshold=0), "targets_failure_threshold_valid"),
    ("success_threshold_zero", dict(success_threshold=0), "targets_success_threshold_valid"),
]


def _args(**override) -> list:
    row = {**GOOD, **override}
    return [
        row[k]
        for k in (
            "name",
            "kind",
            "address",
            "interval_s",
            "timeout_s",
            "settings",
            "labels",
            "failure_threshold",
            "success_threshold",
        )
    ]


@pytest.mark.parametrize(
    "override,constraint", [c[1:] for c in BAD_TARGETS], ids=[c[0] for c in BAD_TARGETS]
)
async def test_bad_target_rejected(db: asyncpg.Connection, override: dict, constraint: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError) as err:
        await db.execute(INSERT, *_args(**override))
    assert err.value.constraint_name == constraint
    assert await db.fetchval("SELECT count(*) FROM targets") == 0


GOOD_TARGETS = [
    ("http", dict()),
    ("https_with_path_and_query", dict(address="https://127.0.0.1:8443/health?x=1")),
    ("tcp_ipv4", dict(kind="tcp", address="127.0.0.1:5432")),
    ("tcp_ipv6", dict(kind="tcp", address="[::1]:5432")),
    ("tcp_hostname", dict(kind="tcp", address="localhost:65535")),
    ("icmp_ipv4", dict(kind="icmp", address="127.0.0.1")),
    ("icmp_ipv6", dict(kind="icmp", address="::1")),
    ("fractional_timeout", dict(interval_s=1, timeout_s=0.5)),
]


@pytest.mark.parametrize("override", [c[1] for c in GOOD_TARGETS], ids=[c[0] for c in GOOD_TARGETS])
async def test_good_target_accepted_and_scheduled(db: asyncpg.Connection, override: dict) -> None:
    await db.execute(INSERT, *_args(**override))
    row = await db.fetchrow(
        """SELECT st.status, s.next_check_at <= now() AS due
             FROM targets t JOIN target_state st ON st.target_id = t.id
             JOIN schedule s ON s.target_id = t.id"""
    )
    assert row["status"] == "pending" and row["due"] is True


async def test_duplicate_name_rejected(db: asyncpg.Connection) -> None:
    await db.execute(INSERT, *_args())
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(INSERT, *_args())


async def test_state_and_history_rules(db: asyncpg.Connection) -> None:
    await db.execute(INSERT, *_args())
    tid = await db.fetchval("SELECT id FROM targets")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE target_state SET status = 'sideways' WHERE target_id = $1", tid)
    with pytest.raises(asyncpg.CheckViolationError):  # a failed check must say why
        await db.execute(
            "INSERT INTO checks (target_id, checked_at, ok) VALUES ($1, now(), false)", tid
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO incidents (target_id, started_at, ended_at, cause) VALUES ($1, now(), now() - interval '1 s', 'x')",
            tid,
        )
    await db.execute(
        "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'timeout')", tid
    )
    with pytest.raises(asyncpg.UniqueViolationError):  # one open incident per target
        await db.execute(
            "INSERT INTO incidents (target_id, started_at, cause) VALUES ($1, now(), 'timeout')",
            tid,
        )


async def test_disable_unschedules_and_enable_reschedules(db: asyncpg.Connection) -> None:
    await db.execute(INSERT, *_args())
    tid = await db.fetchval("SELECT id FROM targets")
    await db.execute("UPDATE targets SET enabled = false WHERE id = $1", tid)
    assert await db.fetchval("SELECT count(*) FROM schedule") == 0
    await db.execute("UPDATE targets SET enabled = true WHERE id = $1", tid)
    assert await db.fetchval(
        "SELECT next_check_at <= now() FROM schedule WHERE target_id = $1", tid
    )
    await db.execute("DELETE FROM targets WHERE id = $1", tid)
    assert await db.fetchval("SELECT count(*) FROM schedule") == 0
    assert await db.fetchval("SELECT count(*) FROM target_state") == 0
