"""Vigil's benchmarks: each scenario measures Vigil against a baseline run on the same machine."""
