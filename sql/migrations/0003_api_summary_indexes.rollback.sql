DROP INDEX IF EXISTS targets_disabled_idx;
