"""Uptime and latency of a target, read from the hourly roll-ups (never a scan of raw checks)."""
