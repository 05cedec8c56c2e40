"""`vigil dev`: embedded PostgreSQL (unless VIGIL_DATABASE_URL is set), migrations, API and worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vigil_core import embedded_pg, migrations
from vigil_core.settings import Settings

GRACE_S = 15.0


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM if `vigil dev` itself is killed, so nothing is orphaned.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_dev(settings: Settings, host: str, port: int, data_dir: Path) -> int:
    pgdata = (data_dir / "pgdata").resolve()
    embedded = not settings.database_url
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: list[subprocess.Popen[bytes]] = []
    try:
        if embedded:
            print(f"vigil dev: starting embedded PostgreSQL in {pgdata}", flush=True)
            url = embedded_pg.start(pgdata)
        else:
            url = settings.require_database_url()
            print("vigil dev: using VIGIL_DATABASE_URL", flush=True)
        applied = migrations.apply(url)
        print(
            f"vigil dev: {len(applied)} migration(s) applied"
            if applied
            else "vigil dev: database is up to date",
            flush=True,
        )

        env = {**os.environ, "VIGIL_DATABASE_URL": url}
        base = [sys.executable, "-m", "vigil_cli"]
        roles = {"api": ["api", "--host", host, "--port", str(port)], "worker": ["worker"]}
        for role in roles.values():
            children.append(subprocess.Popen(base + role, env=env, preexec_fn=_die_with_parent))
        print(
            f"vigil dev: API and UI at http://{host}:{port}/  (Ctrl-C stops everything)", flush=True
        )

        failed = False
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    name = [r for r, c in zip(roles, children, strict=True) if c is child][0]
                    print(
                        f"vigil dev: {name} exited with {child.returncode}; stopping",
                        file=sys.stderr,
                        flush=True,
                    )
                    stopping = failed = True
            time.sleep(0.2)
        return 1 if failed else 0
    finally:
        _stop_children(children)
        if embedded:
            embedded_pg.stop(pgdata)
        print("vigil dev: stopped", flush=True)


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
