"""Maintenance windows: when targets are checked but alert no one and count for no uptime."""
