"""/metrics: lint-clean under promtool, requests by route template, pool gauges, target series."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import create

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is installed by .ci/run"
)


def promtool_check(text: str) -> None:
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


async def test_metrics_are_lint_clean_and_carry_target_series(client, db) -> None:
    up = await create(client, name='web "quoted"')
    down = (
        await client.post(
            "/api/v1/targets", json={"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}
        )
    ).json()
    pending = await create(client, name="new", url="http://127.0.0.1:14/")
    await db.execute(
        """UPDATE target_state SET status = 'up', last_latency_ms = 250,
                        tls_expires_at = '2030-01-01T00:00:00Z' WHERE target_id = $1""",
        up["id"],
    )
    await db.execute(
        "UPDATE target_state SET status = 'down', last_latency_ms = 1500 WHERE target_id = $1",
        down["id"],
    )
    assert (await client.get(f"/api/v1/targets/{up['id']}")).status_code == 200
    assert (await client.get("/api/v1/targets/999999")).status_code == 404

    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    promtool_check(text)

    lines = text.splitlines()
    labels_up = f'id="{up["id"]}",kind="http",name="web \\"quoted\\""'
    assert f"vigil_target_up{{{labels_up}}} 1.0" in lines
    assert f'vigil_target_up{{id="{down["id"]}",kind="tcp",name="db"}} 0.0' in lines
    assert not any(
        line.startswith("vigil_target_up") and f'id="{pending["id"]}"' in line for line in lines
    )
    assert f"vigil_target_latency_seconds{{{labels_up}}} 0.25" in lines
    assert f"vigil_target_tls_expiry_timestamp_seconds{{{labels_up}}} 1.893456e+09" in lines
    # route templates, never raw paths (one series per route, not per id)
    assert (
        'vigil_http_requests_total{method="GET",route="/api/v1/targets/{target_id}",status="200"} 1.0'
        in lines
    )
    assert (
        'vigil_http_requests_total{method="GET",route="/api/v1/targets/{target_id}",status="404"} 1.0'
        in lines
    )
    assert any(line.startswith("vigil_http_request_duration_seconds_bucket{") for line in lines)
    assert any(line.startswith('vigil_db_pool_connections{state="in_use"}') for line in lines)
    assert any(line.startswith('vigil_db_pool_connections{state="free"}') for line in lines)
    assert not any("_created" in line for line in lines)
