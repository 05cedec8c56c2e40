"""Bench tests run every scenario at its tiny size on the session's Postgres (no cluster of their own)."""

from __future__ import annotations

import pytest


@pytest.fixture
def bench_server(pg_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    # BenchPostgres creates and drops its databases on this server instead of starting a cluster.
    monkeypatch.setenv("VIGIL_BENCH_DATABASE_URL", pg_server_url)
    return pg_server_url
