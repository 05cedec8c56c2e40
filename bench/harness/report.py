"""A scenario's figures over repeated runs, its goals, the printed table and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import spread

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


@dataclass(frozen=True)
class Goal:
    """A figure the issue asks for, judged on the median over the runs."""

    figure: str
    op: str  # ">=" or "<="
    threshold: float
    text: str

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.threshold if self.op == ">=" else value <= self.threshold


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": os.getloadavg(),
    }


@dataclass
class Report:
    scenario: str
    size: str
    params: dict[str, Any]
    units: dict[str, str] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)
    runs: list[dict[str, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    missing: dict[str, str] = field(
        default_factory=dict
    )  # figure prefix -> why it was not measured
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def figure(self, name: str, unit: str) -> None:
        """Declare a figure (keeps the table in declaration order)."""
        self.units[name] = unit

    def unmeasured(self, prefix: str, reason: str) -> None:
        """Figures starting with `prefix` could not be measured (e.g. a route this build lacks)."""
        if prefix not in self.missing:
            self.missing[prefix] = reason
            self.notes.append(f"{prefix}: not measured, {reason}")

    def add_run(self, figures: dict[str, float | None]) -> None:
        for name in figures:
            self.units.setdefault(name, "")
        self.runs.append(figures)

    def summary(self) -> dict[str, dict[str, float | None]]:
        return {name: spread([run.get(name) for run in self.runs]) for name in self.units}

    def verdicts(self) -> list[dict[str, Any]]:
        summary = self.summary()
        out = []
        for goal in self.goals:
            median = summary.get(goal.figure, {}).get("median")
            out.append(
                {
                    "goal": goal.text,
                    "figure": goal.figure,
                    "op": goal.op,
                    "threshold": goal.threshold,
                    "median": median,
                    "met": goal.met(median),
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "size": self.size,
            "started_at": self.started_at,
            "machine": machine(),
            "params": self.params,
            "skipped": self.skipped,
            "units": self.units,
            "runs": self.runs,
            "summary": self.summary(),
            "goals": self.verdicts(),
            "missing": self.missing,
            "notes": self.notes,
        }

    def write_json(self, directory: Path = RESULTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = directory / f"{self.scenario}-{self.size}-{stamp}.json"
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
        return path

    def render(self) -> str:
        lines = [
            f"== {self.scenario} ({self.size}, {len(self.runs)} run(s)) "
            + " ".join(f"{k}={v}" for k, v in self.params.items())
        ]
        if self.skipped:
            lines.append(f"   SKIPPED: {self.skipped}")
        summary = self.summary()
        if summary:
            width = max(len(n) for n in summary)
            lines.append(f"   {'figure':<{width}}  {'min':>10} {'median':>10} {'max':>10}  unit")
            for name, s in summary.items():
                lines.append(
                    f"   {name:<{width}}  {_fmt(s['min']):>10} {_fmt(s['median']):>10} "
                    f"{_fmt(s['max']):>10}  {self.units.get(name, '')}"
                )
        for v in self.verdicts():
            mark = {True: "PASS", False: "FAIL", None: "n/a "}[v["met"]]
            lines.append(
                f"   [{mark}] {v['goal']}: median {_fmt(v['median'])} "
                f"(goal {v['op']} {_fmt(v['threshold'])})"
            )
        lines += [f"   note: {n}" for n in self.notes]
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"
