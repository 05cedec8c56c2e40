DROP INDEX IF EXISTS targets_labels_idx;
DROP INDEX IF EXISTS targets_disabled_idx;
