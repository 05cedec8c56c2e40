"""The `vigil` command: migrate, api, worker and dev."""
