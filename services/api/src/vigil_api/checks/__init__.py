"""Check results of a target."""
