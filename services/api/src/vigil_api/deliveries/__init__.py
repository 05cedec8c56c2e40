"""Deliveries: the log of every alert to every channel, and retrying a failed one."""
