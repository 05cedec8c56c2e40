DROP VIEW IF EXISTS check_rollups_days;
DROP TRIGGER IF EXISTS check_rollups_daily_sync ON check_rollups_hourly;
DROP FUNCTION IF EXISTS vigil_rollups_daily_rebuild(date, date);
DROP FUNCTION IF EXISTS vigil_rollups_daily_sync();
DROP FUNCTION IF EXISTS vigil_buckets_add(integer[], integer[], integer);
DROP TABLE IF EXISTS check_rollups_daily;
