"""Fault injection: real `vigil` processes against hostile servers and a failing PostgreSQL."""
