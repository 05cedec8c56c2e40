"""Push (heartbeat) targets: the open ping endpoint, its rate limit and token rotation."""
