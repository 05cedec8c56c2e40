"""Targets: the monitored endpoints and their validation."""
