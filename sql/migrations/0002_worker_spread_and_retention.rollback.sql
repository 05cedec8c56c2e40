-- Rolls back 0002_worker_spread_and_retention.
DROP FUNCTION IF EXISTS vigil_drop_old_check_partitions(integer);
DROP TRIGGER IF EXISTS targets_spread_update ON targets;
DROP TRIGGER IF EXISTS targets_spread_insert ON targets;
DROP FUNCTION IF EXISTS vigil_targets_spread();
