"""Results: the raw check results the worker stored for a target (vigil_worker.checks runs the checks)."""
