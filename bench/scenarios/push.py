"""push: wrk against the push endpoint (GET /api/v1/push/{token}) over 100 tokens, with a worker turning the pings into results.

Two phases. `record`: the API's per-token rate limit lifted (this module serves the same app
with a limiter that never says no), so every request is the real work: the token lookup, the
ping's INSERT, the schedule update and the NOTIFY in one statement. `limited`: the product as
shipped (60 a minute, bursts of 10), where nearly every request is a 429 that never reaches the
database: the cost of a runaway job. The load is closed-loop with few connections, so p99 is
the endpoint's own time plus little queueing; Litestar's minimal app (the api scenario's
ceiling) gets the same load first, since on a shared machine only ratios compare; p50/p99 in ms, requests/s and per CPU-second of
the API process. A `vigil worker` drains push_pings meanwhile; the figures include how many
pings it had stored as checks when the phase ended.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tests.support import free_port
from vigil_core.db import connect

from ..harness.lab import Lab
from ..harness.procs import Child, wait_http
from ..harness.report import Goal, Report
from ..harness.servers import require
from ..harness.stats import ratio
from ..harness.wrk import WrkResult, parse

NAME = "push"
SIZES = {
    "tiny": {"tokens": 100, "duration_s": 1, "connections": 2, "repeat": 1},
    "short": {"tokens": 100, "duration_s": 5, "connections": 4, "repeat": 3},
    "full": {"tokens": 100, "duration_s": 15, "connections": 4, "repeat": 5},
}

# wrk cycles through the tokens, one request each in turn.
LUA = """
local tokens = {}
for line in io.lines("%s") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i %% #tokens + 1
  return wrk.format("GET", "/api/v1/push/" .. tokens[i] .. "?duration_ms=12")
end
"""


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.goals = [
        Goal("record_p99_ms", "<=", 5.0, "a ping is recorded in under 5 ms p99"),
        Goal("record_errors", "<=", 0, "every ping recorded (no non-2xx, no socket errors)"),
    ]
    db_url = await lab.database()
    tokens = await _push_targets(db_url, p["tokens"])
    script = _script(lab.workdir, tokens)
    await lab.ready_worker("worker", db_url)
    ceiling_port = free_port()
    ceiling = lab.python(
        "litestar-min", "bench.baselines.litestar_min", ["--port", str(ceiling_port)]
    )
    ceiling_url = f"http://127.0.0.1:{ceiling_port}/hello"
    await wait_http(ceiling_url, ceiling)
    servers: dict[str, tuple[Child, str]] = {}
    for phase, unlimited in (("record", True), ("limited", False)):
        port = free_port()
        args = ["--port", str(port), *(["--unlimited"] * unlimited)]
        child = lab.app(f"api-{phase}", "bench.scenarios.push", args, db_url)
        await wait_http(f"http://127.0.0.1:{port}/healthz", child)
        servers[phase] = (child, f"http://127.0.0.1:{port}")
    for _ in range(p["repeat"]):
        figures: dict[str, float | None] = {}
        c, c_cpu_s = await _wrk(ceiling, ceiling_url, None, p)
        figures |= {
            "ceiling_p50_ms": c.latency_ms.get("50"),
            "ceiling_p99_ms": c.latency_ms.get("99"),
            "ceiling_rps": c.rps,
        }
        for phase, (child, base) in servers.items():
            stored_before = await _stored(db_url)
            result, cpu_s = await _wrk(child, base, script, p)
            figures |= {
                f"{phase}_p50_ms": result.latency_ms.get("50"),
                f"{phase}_p99_ms": result.latency_ms.get("99"),
                f"{phase}_rps": result.rps,
                f"{phase}_req_per_cpu_s": ratio(result.requests, cpu_s),
                f"{phase}_rps_vs_ceiling": ratio(result.rps, c.rps),
            }
            if phase == "record":
                figures["record_errors"] = result.errors
                figures["record_stored_at_end"] = ratio(
                    await _stored(db_url) - stored_before, result.requests
                )
        report.add_run(figures)
    for name in report.units:
        report.units[name] = (
            "ms"
            if name.endswith("_ms")
            else "req/s"
            if name.endswith("_rps")
            else "req/CPU-s"
            if name.endswith("_per_cpu_s")
            else "x"
            if name.endswith(("_at_end", "_vs_ceiling"))
            else ""
        )
    return report


async def _push_targets(db_url: str, n: int) -> list[str]:
    conn = await connect(db_url)
    try:
        await conn.execute(
            """INSERT INTO targets (name, kind, address, interval_s, timeout_s, settings)
               SELECT 'push ' || i, 'push', 'push', 3600, 5, '{"grace_s": 600}'
                 FROM generate_series(1, $1) AS i""",
            n,
        )
        return [r["token"] for r in await conn.fetch("SELECT token FROM push_tokens ORDER BY 1")]
    finally:
        await conn.close()


async def _stored(db_url: str) -> int:
    conn = await connect(db_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM checks c JOIN targets t ON t.id = c.target_id"
            " WHERE t.kind = 'push'"
        )
    finally:
        await conn.close()


def _script(workdir: Path, tokens: list[str]) -> Path:
    (workdir / "push-tokens.txt").write_text("\n".join(tokens) + "\n")
    path = workdir / "push.lua"
    path.write_text(LUA % (workdir / "push-tokens.txt"))
    return path


async def _wrk(child: Child, url: str, script: Path | None, p: dict) -> tuple[WrkResult, float]:
    """wrk bounded by its duration, with the API's CPU time over it."""
    duration_s = p["duration_s"]
    argv = [
        require("wrk"),
        "-t1",
        f"-c{p['connections']}",
        f"-d{duration_s}s",
        "--timeout=5s",
        "--latency",
        *(["-s", str(script)] if script else []),
        url,
    ]
    cpu0 = child.cpu_seconds()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=duration_s + 35)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out.decode(errors='replace')}")
    return parse(out.decode()), child.cpu_seconds() - cpu0


def main() -> None:
    """The API as `vigil api` serves it; --unlimited lifts the push rate limit (phase `record`)."""
    import uvicorn

    from vigil_api.app import create_app
    from vigil_api.push.limiter import RateLimiter
    from vigil_core.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unlimited", action="store_true")
    args = parser.parse_args()
    # VIGIL_DATABASE_URL, VIGIL_SECRET_KEY... from the environment Lab.app gives, as `vigil api`.
    app = create_app(load_settings())
    if args.unlimited:
        app.state["push_limiter"] = RateLimiter(1e9, 10**9)
    # The same uvicorn options as vigil_api.app.run.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
