"""Incidents: one row per down period of a target."""
