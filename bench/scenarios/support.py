"""Helpers the scenario modules share."""

from __future__ import annotations


def worker_lacks(kind: str) -> str | None:
    """Why the worker cannot run `kind` checks yet, or None when its registry has them."""
    from vigil_worker.checks import REGISTRY

    if kind not in REGISTRY:
        return f"the worker has no {kind} check yet (vigil_worker.checks.REGISTRY: {', '.join(REGISTRY)})"
    return None
