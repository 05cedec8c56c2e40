"""The dashboard summary: every target with its state, plus counts by state."""
