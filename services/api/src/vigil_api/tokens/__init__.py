"""API tokens: machine credentials an admin makes, lists and revokes (shown once, stored hashed)."""
