"""The embedded PostgreSQL (pgserver wheel) that `vigil dev` and the tests start."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path



def _runtime_dir() -> None:
    # pgserver keeps its lock file in the user's runtime dir; give it a private one if unset.
    if "XDG_RUNTIME_DIR" not in os.environ:
        path = Path(tempfile.gettempdir()) / f"vigil-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


_runtime_dir()


class EmbeddedPostgresUnavailable(RuntimeError):
    pass


def start(pgdata: Path) -> str:
    """Start (or reuse) a cluster in `pgdata`; returns its URI. It listens on a unix socket."""
    try:
        import pgserver
    except ImportError as exc:  # pgserver has wheels for CPython 3.11 and 3.12 only
        raise EmbeddedPostgresUnavailable(
            "the embedded PostgreSQL (pgserver) is not installed for this Python; "
            "use Python 3.11 or 3.12, or set VIGIL_DATABASE_URL"
        ) from exc
    # pgserver logs every step at INFO, also from atexit after the streams are closed.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the caller stops it explicitly with stop(), also on SIGTERM.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def stop(pgdata: Path) -> None:
    """Stop the cluster in `pgdata` through pgserver's pg_ctl; a no-op when it is not running."""
    import subprocess

    import pgserver

    if not (pgdata / "postmaster.pid").exists():
        return
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped
