"""Routes: which targets' alerts (by label) reach which channels, when and how often."""
