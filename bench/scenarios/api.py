"""api: wrk against GET /api/v1/targets/{id}, /api/v1/summary and a public status page of 500 targets, with Litestar's minimal app as the ceiling and the same app without its auth middleware as auth's baseline.

The same uvicorn options serve all three and each gets the same wrk load, a read token in every
request. `target_noauth` is the same GET against a second API process whose app has the auth
middleware replaced by a pass-through (`bench.baselines.api_without_auth`); within each run the
two take turns in `slices` slices of `duration_s` / `slices` each. Figures are requests/s, p99
latency and requests per CPU-second of the server process, Vigil's share of the ceiling, and
`auth_cost` = 1 - target ÷ target_noauth requests per CPU-second: what the middleware takes.

`status_page` is GET /status/bench, a public page of `page_targets` targets in groups of 50 with
90 days of daily roll-ups, asked as a browser asks (no credentials, gzip accepted, no
If-None-Match, so every answer is the whole page from the API's cache).
"""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg

from tests.support import bearer, free_port
from vigil_core.db import connect

from ..harness.db import Q
from ..harness.history import generate, typical_hour_buckets
from ..harness.lab import Lab
from ..harness.measure import start_profiler, wrk_against
from ..harness.procs import Child, wait_http
from ..harness.report import Goal, Report
from ..harness.stats import ratio

NAME = "api"
SIZES = {
    "tiny": {
        "targets": 200,
        "page_targets": 50,
        "warmup_s": 1,
        "duration_s": 1,
        "slices": 1,
        "connections": 8,
        "repeat": 1,
    },
    "short": {
        "targets": 10_000,
        "page_targets": 500,
        "warmup_s": 2,
        "duration_s": 5,
        "slices": 5,
        "connections": 32,
        "repeat": 3,
    },
    "full": {
        "targets": 10_000,
        "page_targets": 500,
        "warmup_s": 3,
        "duration_s": 15,
        "slices": 5,
        "connections": 32,
        "repeat": 5,
    },
}


async def run(lab: Lab, size: str, p: dict) -> Report:
    report = Report(NAME, size, p)
    report.goals = [
        Goal("errors", "<=", 0, "no socket errors or non-2xx answers under load"),
        Goal(
            "auth_cost",
            "<=",
            0.05,
            "auth costs GET /api/v1/targets/{id} under 5 % of its requests per CPU-second",
        ),
        Goal(
            "status_page_p99_ms",
            "<=",
            20,
            "a public status page of 500 targets answers within 20 ms (p99) under wrk -c32",
        ),
    ]
    db_url = await lab.database()
    conn = await connect(db_url)
    try:
        await generate(
            conn,
            targets=p["targets"],
            address="http://127.0.0.1:9/",
            interval_s=60,
            rollup_hours=48,
            raw_hours=0,
            raw_every_s=60,
        )
        first, last = await conn.fetchrow(Q["target_id_range"])
        await _status_page(conn, first, first + p["page_targets"] - 1)
    finally:
        await conn.close()

    headers = bearer(await lab.token(db_url, "read"))
    ceiling_port = free_port()
    ceiling = lab.python(
        "litestar-min", "bench.baselines.litestar_min", ["--port", str(ceiling_port)]
    )
    ceiling_url = f"http://127.0.0.1:{ceiling_port}/hello"
    await wait_http(ceiling_url, ceiling)
    await _wrk(ceiling, ceiling_url, p["warmup_s"], p, headers)

    for rep in range(p["repeat"]):
        # Fresh API processes each run, so what sets one process apart from another (its
        # memory layout, its hash seed) is not counted as the middleware's cost in every run.
        apis, routes = await _start_apis(lab, db_url, f"/api/v1/targets/{(first + last) // 2}", rep)
        await _check_routes(routes, headers, report)
        # Unmeasured load first: the pools fill, the plans are prepared, the token is cached.
        for name, (child, url) in routes.items():
            await _wrk(child, url, p["warmup_s"], p, VISITOR if name == "status_page" else headers)

        figures: dict[str, float | None] = {}
        c = await _wrk(ceiling, ceiling_url, p["duration_s"], p, headers)
        figures |= _figures("ceiling", c)
        results = await _alternating(
            {n: routes[n] for n in ("target", "target_noauth") if n in routes}, rep, p, headers
        )
        if "summary" in routes:
            results["summary"] = await _wrk(*routes["summary"], p["duration_s"], p, headers)
        if "status_page" in routes:
            results["status_page"] = await _wrk(*routes["status_page"], p["duration_s"], p, VISITOR)
        for name, r in results.items():
            figures |= _figures(name, r)
            figures[f"{name}_vs_ceiling"] = ratio(r["rps"], c["rps"])
        share = ratio(
            figures.get("target_req_per_cpu_s"), figures.get("target_noauth_req_per_cpu_s")
        )
        figures["auth_cost"] = None if share is None else 1 - share
        figures["errors"] = c["errors"] + sum(r["errors"] for r in results.values())
        report.add_run(figures)
        if rep == 0:
            await _profile(lab, routes, p, headers)
        for child in apis:
            lab.forget(child)
    if "auth_cost" in report.units and report.summary()["auth_cost"]["median"] is None:
        report.unmeasured("auth_cost", "GET /api/v1/targets/{id} was not measured on both apps")
    for name in report.units:
        report.units[name] = (
            "req/s"
            if name.endswith("_rps")
            else "ms"
            if name.endswith("_ms")
            else "req/CPU-s"
            if name.endswith("_per_cpu_s")
            else "x"
            if "_vs_" in name or name == "auth_cost"
            else ""
        )
    return report


async def _start_apis(
    lab: Lab, db_url: str, target: str, rep: int
) -> tuple[list[Child], dict[str, tuple[Child, str]]]:
    """`vigil api` and the same app without its auth middleware, both ready, and the measured
    routes by name, each with the process that serves it."""
    api_port, noauth_port = free_port(), free_port()
    api = lab.vigil(f"api-{rep}", ["api", "--port", str(api_port)], db_url)
    noauth = lab.app(
        f"api-noauth-{rep}",
        "bench.baselines.api_without_auth",
        ["--port", str(noauth_port)],
        db_url,
    )
    base, noauth_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{noauth_port}"
    await asyncio.gather(
        wait_http(f"{base}/healthz", api), wait_http(f"{noauth_base}/healthz", noauth)
    )
    # The token goes to the no-auth app too, so only the middleware differs.
    return [api, noauth], {
        "target": (api, f"{base}{target}"),
        "target_noauth": (noauth, f"{noauth_base}{target}"),
        "summary": (api, f"{base}/api/v1/summary"),
        "status_page": (api, f"{base}/status/bench"),
    }


# A browser's request for a public page: no credentials, gzip accepted.
VISITOR = {"Accept-Encoding": "gzip, deflate"}


async def _status_page(conn: asyncpg.Connection, first: int, last: int) -> None:
    """The page `bench` of targets first..last, with 90 days of roll-ups and the open incidents
    of the down ones."""
    day = [n * 24 for n in typical_hour_buckets()]
    await conn.execute(Q["fill_status_page"], first, last)
    await conn.execute(Q["fill_older_days"], first, last, day)
    await conn.execute(Q["fill_open_incidents"], first, last)
    await conn.execute("ANALYZE")


async def _check_routes(
    routes: dict[str, tuple[Child, str]], headers: dict[str, str], report: Report
) -> None:
    """Drop (and note) a route this build lacks; any other answer but 200 is the bench's bug."""
    async with aiohttp.ClientSession(headers=headers) as session:
        for name, (_, url) in list(routes.items()):
            async with session.get(url) as resp:
                if resp.status in (404, 405):
                    report.unmeasured(name, f"{url} answered {resp.status}")
                    del routes[name]
                elif resp.status != 200:  # e.g. a 401: the bench's credentials are wrong
                    body = (await resp.text())[:300]
                    raise RuntimeError(f"{url} answered {resp.status}: {body}")


async def _profile(lab: Lab, routes: dict[str, tuple[Child, str]], p: dict, headers: dict) -> None:
    """With --profile: one more load of each authenticated route and of the no-auth app's, under
    py-spy (a separate load, so the sampling's cost is in no figure); the target's two profiles
    show what the middleware costs, side by side."""
    for name in ("target", "target_noauth", "summary"):
        if name in routes and (profiler := start_profiler(lab, routes[name][0], p["duration_s"])):
            await _wrk(*routes[name], p["duration_s"], p, headers)
            await asyncio.to_thread(profiler.proc.wait, 30)


async def _wrk(child: Child, url: str, duration_s: float, p: dict, headers: dict) -> dict:
    return await wrk_against(
        child, url, duration_s=duration_s, connections=p["connections"], headers=headers
    )


async def _alternating(
    servers: dict[str, tuple[Child, str]], rep: int, p: dict, headers: dict
) -> dict[str, dict]:
    """Each server's share of one run in `slices` slices, taking turns (which goes first flips
    every slice, and between runs), so a drift of the machine favours neither; the slices of
    each are added up (its p99 is the highest of its slices')."""
    slice_s = p["duration_s"] / p["slices"]
    if slice_s < 1:
        raise ValueError(f"duration_s / slices is {slice_s:g} s; wrk measures whole seconds (>= 1)")
    parts: dict[str, list[dict]] = {name: [] for name in servers}
    names = list(servers)
    for i in range(p["slices"]):
        for name in names[::-1] if (rep + i) % 2 else names:
            parts[name].append(await _wrk(*servers[name], slice_s, p, headers))
    return {name: _added(slices) for name, slices in parts.items()}


def _added(slices: list[dict]) -> dict:
    """wrk_against's figures over consecutive slices of one load."""
    requests = sum(r["requests"] for r in slices)
    wall_s = sum(r["wall_s"] for r in slices)
    p99s = [r["latency_ms"]["99"] for r in slices if "99" in r["latency_ms"]]
    return {
        "requests": requests,
        "errors": sum(r["errors"] for r in slices),
        "wall_s": wall_s,
        "rps": ratio(requests, wall_s),
        "cpu_s": sum(r["cpu_s"] for r in slices),
        "latency_ms": {"99": max(p99s)} if p99s else {},
    }


def _figures(name: str, r: dict) -> dict[str, float | None]:
    return {
        f"{name}_rps": r["rps"],
        f"{name}_p99_ms": r["latency_ms"].get("99"),
        f"{name}_req_per_cpu_s": ratio(r["requests"], r["cpu_s"]),
    }
