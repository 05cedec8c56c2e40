"""Config as code: upsert targets by name from one document, in one transaction."""
