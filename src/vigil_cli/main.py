"""Argument parsing and dispatch for `vigil`; each subcommand lives in its own function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigil_core.logging import configure_logging
from vigil_core.settings import Settings, SettingsError, load_settings


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from vigil_core import migrations

    url = settings.require_database_url()
    if args.list:
        pending = migrations.pending(url)
        for mid in migrations.applied(url):
            print(f"applied  {mid}")
        for mid in pending:
            print(f"pending  {mid}")
        if not pending:
            print("nothing pending")
        return 0
    if args.rollback is not None:
        done = migrations.rollback(url, args.rollback)
        for mid in done:
            print(f"rolled back {mid}")
        if not done:
            print("nothing to roll back")
        return 0
    done = migrations.apply(url)
    for mid in done:
        print(f"applied {mid}")
    print(f"{len(done)} migration(s) applied" if done else "database is up to date")
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    from vigil_api.app import run

    run(settings, host=args.host or settings.api_host, port=args.port or settings.api_port)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from vigil_worker.main import run

    run(settings, metrics_port=args.metrics_port)
    return 0


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from .dev import run_dev

    return run_dev(settings, host=args.host, port=args.port, data_dir=Path(args.data_dir))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil", description="Vigil, a self-hosted uptime monitor."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="apply database migrations (sql/migrations)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="show applied and pending migrations")
    g.add_argument(
        "--rollback", type=_positive_int, metavar="N", help="roll back the last N migrations"
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("api", help="run the HTTP API and web UI")
    p.add_argument("--host", help="address to bind (default: VIGIL_API_HOST or 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port to bind (default: VIGIL_API_PORT or 8000)")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("worker", help="run a worker that checks targets")
    p.add_argument(
        "--metrics-port",
        type=_port_or_zero,
        metavar="PORT",
        help="port of /metrics and /healthz (default: VIGIL_WORKER_METRICS_PORT "
        "or 9100; 0 disables)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("dev", help="run everything on this machine (embedded PostgreSQL if needed)")
    p.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="API port (default 8000)")
    p.add_argument(
        "--data-dir",
        default=".vigil",
        help="where it keeps the embedded PostgreSQL's data, the server key and the admin token"
        " (default .vigil)",
    )
    p.set_defaults(func=cmd_dev)

    from .accounts import add_parsers as add_account_parsers

    add_account_parsers(sub)
    from .apply import add_parser as add_apply_parser

    add_apply_parser(sub)
    from .importers import add_parser as add_import_parser

    add_import_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port between 1 and 65535")
    return value


def _port_or_zero(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port between 0 (off) and 65535")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        return args.func(settings, args)
    except SettingsError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
