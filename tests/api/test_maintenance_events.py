"""The live event `maintenance`: sent to every client when a window is written anywhere
(NOTIFY vigil_maintenance) and when one starts or ends (the worker's MaintenanceChanged), so that
what reads `maintenance` is fetched again."""

from __future__ import annotations

from vigil_core.notify import STATUS_CHANNEL, MaintenanceChanged, encode

from .conftest import HTTP_TARGET
from .sse import SSEStream


async def test_clients_hear_when_windows_change_or_start_and_end(live, http, db) -> None:
    resp = await http.post("/api/v1/targets", json=HTTP_TARGET)
    assert resp.status_code == 201, resp.text
    target_id = resp.json()["id"]
    async with SSEStream(f"{live.url}/api/v1/events", headers=live.headers) as stream:
        assert (await stream.next()).comment == "connected"
        # A window written (here through the API) ...
        resp = await http.post(
            "/api/v1/maintenance", json={"targets": [target_id], "duration_s": 60}
        )
        assert resp.status_code == 201, resp.text
        msg = await stream.next_event("maintenance", timeout=5)
        assert msg.json() == {"reason": "written"}
        # ... and a window's start or end, which the worker sends.
        await db.execute("SELECT pg_notify($1, $2)", STATUS_CHANNEL, encode(MaintenanceChanged()))
        msg = await stream.next_event("maintenance", timeout=5)
        assert msg.json() == {"reason": "boundary"}
