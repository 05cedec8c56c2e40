"""Vigil worker: claims due checks, runs them, stores results and derives state."""
