"""The SQL that writes targets for both the targets endpoints and apply: one home, imported by name."""

from __future__ import annotations

from vigil_core.db import load_queries

_Q = load_queries(__package__, "target_writes.sql")

INSERT_TARGET = _Q["insert_target"]
REPLACE_TARGET = _Q["replace_target"]
DELETE_TARGET = _Q["delete_target"]
LOCK_DEPENDENCIES = _Q["lock_dependencies"]
MISSING_TARGETS = _Q["missing_targets"]
DEPENDENCY_CYCLE = _Q["dependency_cycle"]
SET_DEPENDENCIES = _Q["set_dependencies"]
