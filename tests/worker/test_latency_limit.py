"""max_latency_ms for every kind: a success slower than the limit is `slow` and keeps what it measured."""

from __future__ import annotations

import pytest

from vigil_worker.checks import CheckContext, run_check

from .conftest import Servers, add_target, running_worker, wait_for, worker_settings
from .test_checks import ctx, target  # noqa: F401  (ctx is a fixture)

# Loopback answers in well under a second and never within a microsecond: a limit of 1 µs
# makes any real TCP connect or ICMP round trip slow, 10 s none.
NEVER = 0.001
ALWAYS = 10_000.0

# (id, kind, address from the servers, timeout, settings, error_class)
CASES = [
    ("http-slow", "http", lambda s: s.http + "/slow?delay=0.3", 3, {"max_latency_ms": 100}, "slow"),
    ("http-fast-enough", "http", lambda s: s.http + "/ok", 3, {"max_latency_ms": ALWAYS}, None),
    ("http-no-limit", "http", lambda s: s.http + "/slow?delay=0.3", 3, {}, None),
    # a failure stays the failure it was, however long it took
    (
        "http-status-stays",
        "http",
        lambda s: s.http + "/status/503",
        3,
        {"max_latency_ms": NEVER},
        "status",
    ),
    (
        "http-keyword-stays",
        "http",
        lambda s: s.http + "/slow?delay=0.2",
        3,
        {"max_latency_ms": 50, "keyword": "absent"},
        "keyword",
    ),
    (
        "http-timeout-stays",
        "http",
        lambda s: s.http + "/slow?delay=3",
        0.3,
        {"max_latency_ms": 100},
        "timeout",
    ),
    ("tcp-slow", "tcp", lambda s: s.listening, 3, {"max_latency_ms": NEVER}, "slow"),
    ("tcp-fast-enough", "tcp", lambda s: s.listening, 3, {"max_latency_ms": ALWAYS}, None),
    ("tcp-refused-stays", "tcp", lambda s: s.refused, 3, {"max_latency_ms": NEVER}, "refused"),
    ("icmp-slow", "icmp", lambda s: "127.0.0.1", 3, {"max_latency_ms": NEVER}, "slow"),
    ("icmp-fast-enough", "icmp", lambda s: "::1", 3, {"max_latency_ms": ALWAYS}, None),
]


@pytest.mark.parametrize(
    "kind, address, timeout, settings, error_class",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_latency_limit(
    servers: Servers, ctx: CheckContext, kind, address, timeout, settings, error_class
) -> None:
    outcome = await run_check(target(kind, address(servers), timeout, **settings), ctx)
    assert (outcome.ok, outcome.error_class) == (error_class is None, error_class), (
        outcome.error_message
    )
    if error_class == "slow":
        limit = settings["max_latency_ms"]
        assert outcome.latency_ms is not None and outcome.latency_ms > limit
        assert outcome.timings  # what the check measured is kept
        assert outcome.error_message.startswith("slow: ") and outcome.error_message.endswith(
            f" ms > {limit:g} ms"
        )


async def test_slow_http_keeps_the_answers_facts(servers: Servers, ctx: CheckContext) -> None:
    settings = {"max_latency_ms": 100, "verify_tls": False}
    outcome = await run_check(target("http", servers.https + "/slow?delay=0.3", 3, **settings), ctx)
    assert outcome.error_class == "slow", outcome.error_message
    assert outcome.status_code == 200 and outcome.tls_expires_at == servers.cert_not_after
    assert outcome.latency_ms == outcome.timings["total"] >= 300
    assert outcome.timings["ttfb"] >= 300 and outcome.timings["tls"] > 0
    assert outcome.error_message == f"slow: {outcome.latency_ms:.0f} ms > 100 ms"


async def test_a_worker_stores_slow_with_its_latency(db, db_url: str, servers: Servers) -> None:
    tid = await add_target(
        db,
        "slow-api",
        "http",
        servers.http + "/slow?delay=0.3",
        interval_s=60,
        timeout_s=3,
        settings={"max_latency_ms": 100},
    )
    async with running_worker(worker_settings(db_url)):
        row = await wait_for(
            lambda: db.fetchrow(
                """SELECT ok, error_class, error_message, latency_ms, status_code, timings
                     FROM checks WHERE target_id = $1""",
                tid,
            ),
            timeout=15,
            what="the first check",
        )
    assert (row["ok"], row["error_class"], row["status_code"]) == (False, "slow", 200)
    assert row["latency_ms"] >= 300 and row["error_message"].endswith(" ms > 100 ms")
    assert row["timings"]["ttfb"] >= 300
