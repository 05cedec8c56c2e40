"""The audit log's read side: who changed what, when, from where (rows come from triggers)."""
