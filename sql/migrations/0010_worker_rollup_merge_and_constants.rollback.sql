-- Rolls back 0010_worker_rollup_merge_and_constants. The worker of 0010 calls these: roll the
-- worker back first.
DROP FUNCTION IF EXISTS vigil_rollups_hourly_add(anyarray);
DROP VIEW IF EXISTS check_rollups_current;
DROP TYPE IF EXISTS vigil_rollup_hour;
DROP FUNCTION IF EXISTS vigil_latency_bucket_count();
DROP FUNCTION IF EXISTS vigil_maintenance_lock_key();
DROP FUNCTION IF EXISTS vigil_partitions_lock_key();
