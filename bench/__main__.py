"""`python -m bench SCENARIO...` (or `vigil-bench`): run scenarios, print tables, write JSON to bench/results/."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from types import ModuleType

from vigil_core.logging import configure_logging

from .harness.lab import Lab
from .scenarios import (
    accuracy,
    alerting,
    api,
    engine,
    push,
    reaction,
    scale,
    scaling,
    schedule,
    throughput_dns,
    throughput_http,
    throughput_icmp,
    throughput_tcp,
    ui_stream,
)

SCENARIOS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        throughput_http,
        throughput_icmp,
        throughput_tcp,
        throughput_dns,
        engine,
        reaction,
        schedule,
        accuracy,
        api,
        scale,
        scaling,
        alerting,
        push,
        ui_stream,
    )
}


def _value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil-bench", description=__doc__)
    parser.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help=f"one or more of: {', '.join(SCENARIOS)}, or 'all'",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--tiny",
        dest="size",
        action="store_const",
        const="tiny",
        help="a few seconds each: shows the scenario still works (CI)",
    )
    size.add_argument(
        "--short",
        dest="size",
        action="store_const",
        const="short",
        help="a shorter run of the real thing",
    )
    parser.set_defaults(size="full")
    parser.add_argument("--repeat", type=int, help="repetitions (default per scenario and size)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter of the size, e.g. --set targets=2000",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir with logs and pgdata"
    )
    parser.add_argument(
        "--profile",
        choices=["flamegraph", "speedscope", "raw"],
        help="py-spy the worker during each measured window; files in bench/results/",
    )
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    return parser


def params_for(module: ModuleType, size: str, repeat: int | None, sets: list[str]) -> dict:
    params = dict(module.SIZES[size])
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or key not in params:
            raise SystemExit(
                f"vigil-bench: --set {item!r}: the parameters of {module.NAME} are "
                f"{', '.join(params)}"
            )
        params[key] = _value(value)
    if repeat is not None:
        params["repeat"] = repeat
    return params


async def run_one(
    module: ModuleType, size: str, params: dict, keep: bool, write_json: bool
) -> bool:
    started = time.monotonic()
    async with Lab(keep=keep) as lab:
        report = await module.run(lab, size, params)
    print(report.render(), flush=True)
    if write_json:
        print(f"   json: {report.write_json()}")
    print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    return report.skipped is None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging("console", "warning")  # the in-process writer must not log every flush
    if args.profile:
        os.environ["VIGIL_BENCH_PROFILE"] = args.profile
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(
            f"vigil-bench: unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}",
            file=sys.stderr,
        )
        return 2
    ok = True
    for name in names:
        module = SCENARIOS[name]
        params = params_for(module, args.size, args.repeat, args.set)
        ok &= asyncio.run(run_one(module, args.size, params, args.keep, not args.no_json))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
