"""Runs wrk (bounded by its --duration) and parses its summary and latency distribution."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .servers import require

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    errors: int  # socket errors plus non-2xx/3xx responses
    latency_ms: dict[str, float]  # "50", "75", "90", "99"
    raw: str


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse(out: str) -> WrkResult:
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    seconds = float(m.group(2)) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    if se := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(x) for x in se.groups())
    if non2 := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(non2.group(1))
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE)}
    return WrkResult(int(m.group(1)), seconds, rps, errors, latency, out)


async def run_wrk(
    url: str,
    *,
    duration_s: float,
    connections: int = 32,
    threads: int = 1,
    timeout_s: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> WrkResult:
    """`headers` go with every request (e.g. `tests.support.bearer(token)`)."""
    argv = [
        require("wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        *(arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")),
        url,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=duration_s + timeout_s + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out.decode(errors='replace')}")
    return parse(out.decode())
