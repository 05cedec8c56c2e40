"""Uptime and latency of a target, read from the hourly and daily roll-ups (never a scan of raw checks)."""
