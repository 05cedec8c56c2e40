"""The embedded PostgreSQL (pgserver wheel) that `vigil dev` and the tests start."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from .settings import SettingsError

MISSING = (
    "`vigil dev` needs the pgserver package: run it from a checkout with `uv run vigil dev`, "
    "or set VIGIL_DATABASE_URL"
)


def _runtime_dir() -> None:
    # pgserver keeps its lock file in the user's runtime dir; give it a private one if unset.
    if "XDG_RUNTIME_DIR" not in os.environ:
        path = Path(tempfile.gettempdir()) / f"vigil-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


_runtime_dir()


class EmbeddedPostgresUnavailable(SettingsError):
    """pgserver is not installed: without it an unset VIGIL_DATABASE_URL cannot work, so `vigil`
    reports it as it does any unusable setting (one line, exit status 2)."""


def _pgserver() -> ModuleType:
    # pgserver is a development dependency (the root project's dev group): the production image
    # never starts an embedded server and does not carry its binaries.
    try:
        import pgserver
    except ImportError as exc:
        hint = ""
        if sys.version_info >= (3, 13):
            hint = f" (pgserver has wheels for CPython 3.11 and 3.12 only; this is {sys.version.split()[0]})"
        raise EmbeddedPostgresUnavailable(MISSING + hint) from exc
    return pgserver


def bin_dir() -> Path:
    """The directory of pgserver's PostgreSQL binaries (postgres, pg_ctl, pg_dump, ...)."""
    module_file = _pgserver().__file__
    assert module_file is not None  # a package installed from a wheel has a file
    return Path(module_file).parent / "pginstall" / "bin"


def start(pgdata: Path) -> str:
    """Start (or reuse) a cluster in `pgdata`; returns its URI. It listens on a unix socket."""
    pgserver = _pgserver()
    # pgserver logs every step at INFO, also from atexit after the streams are closed.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the caller stops it explicitly with stop(), also on SIGTERM.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def stop(pgdata: Path) -> None:
    """Stop the cluster in `pgdata` through pgserver's pg_ctl; a no-op when it is not running."""
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        _pgserver().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped
