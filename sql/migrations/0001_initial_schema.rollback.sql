-- Rolls back 0001_initial_schema.
DROP TRIGGER IF EXISTS targets_notify ON targets;
DROP TRIGGER IF EXISTS targets_sync ON targets;
DROP FUNCTION IF EXISTS vigil_targets_notify();
DROP FUNCTION IF EXISTS vigil_targets_sync();
DROP TABLE IF EXISTS check_rollups_hourly;
DROP TABLE IF EXISTS incidents;
DROP TABLE IF EXISTS target_state;
DROP TABLE IF EXISTS checks;
DROP FUNCTION IF EXISTS vigil_ensure_check_partitions(integer, integer);
DROP TABLE IF EXISTS schedule;
DROP TABLE IF EXISTS targets;
