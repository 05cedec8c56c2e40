"""Every benchmark scenario still runs end to end at its tiny size and measures what its goals name.

Tiny sizes prove the harness works; their figures are not judged (the real sizes are run by hand).
A scenario may be skipped only for the reasons the harness names (a check kind or state the worker
does not have yet); the skip message says which.
"""

from __future__ import annotations

import time

import pytest

from bench.__main__ import SCENARIOS, params_for
from bench.harness.lab import Lab

# The tiny sizes take seconds each; this bounds one scenario, set-up included, on a busy machine.
DEADLINE_S = 90
# Figures a scenario must measure besides its goals' (a route the build lacks excuses neither).
MEASURED = {
    "api": ("target_req_per_cpu_s", "target_noauth_req_per_cpu_s", "summary_req_per_cpu_s"),
}


@pytest.mark.parametrize("name", list(SCENARIOS), ids=list(SCENARIOS))
async def test_scenario_runs_at_tiny_size(name: str, bench_server: str) -> None:
    module = SCENARIOS[name]
    params = params_for(module, "tiny", None, [])
    started = time.monotonic()
    async with Lab() as lab:
        report = await module.run(lab, "tiny", params)
    took = time.monotonic() - started

    text = report.render()
    assert f"== {name} (tiny" in text
    assert took < DEADLINE_S, f"{name} took {took:.0f}s at its tiny size"
    if report.skipped:
        pytest.skip(report.skipped)
    assert len(report.runs) == params["repeat"], text
    summary = report.summary()
    for goal in report.goals:
        measured = summary[goal.figure]["median"] is not None
        excused = any(goal.figure.startswith(prefix) for prefix in report.missing)
        assert measured or excused, f"{goal.figure} was not measured:\n{text}"
    for figure in MEASURED.get(name, ()):
        assert summary.get(figure, {}).get("median") is not None, (
            f"{figure} was not measured:\n{text}"
        )
    data = report.to_json()
    assert data["scenario"] == name and data["machine"]["cpus"] and data["runs"]


def test_unknown_scenario_is_named() -> None:
    from bench.__main__ import main

    assert main(["no-such-scenario", "--no-json"]) == 2


def test_bad_parameter_names_the_valid_ones() -> None:
    with pytest.raises(
        SystemExit, match="the parameters of throughput-http are targets, concurrency"
    ):
        params_for(SCENARIOS["throughput-http"], "tiny", None, ["bogus=1"])
