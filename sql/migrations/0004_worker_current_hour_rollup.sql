-- The current hour's roll-up of each target lives in its target_state row, which every flush
-- updates anyway, instead of an upsert into check_rollups_hourly per check. At 100k targets
-- that upsert probed a large primary key at random and cost more Postgres time than the rest
-- of the flush. The flush adds a batch's sums of the current hour to these columns in SQL, and
-- copies a complete hour into check_rollups_hourly when a target's first check of a later
-- hour is stored; results older than the current hour (two workers flushing out of order)
-- go there directly. Readers use the view check_rollups: both, summed per hour.

ALTER TABLE target_state
    ADD COLUMN cur_hour            timestamptz,
    ADD COLUMN cur_checks          integer NOT NULL DEFAULT 0,
    ADD COLUMN cur_ok              integer NOT NULL DEFAULT 0,
    ADD COLUMN cur_latency_sum_ms  double precision NOT NULL DEFAULT 0,
    ADD COLUMN cur_latency_max_ms  real NOT NULL DEFAULT 0,
    ADD COLUMN cur_latency_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN cur_latency_buckets integer[],
    ADD CONSTRAINT target_state_cur_counts_valid
        CHECK (cur_ok BETWEEN 0 AND cur_checks AND cur_latency_count BETWEEN 0 AND cur_checks),
    ADD CONSTRAINT target_state_cur_hour_aligned
        CHECK (cur_hour = date_trunc('hour', cur_hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');

-- Hourly roll-ups as readers see them. An hour can show in both parts (a late result stored
-- straight into the table while the state still holds that hour): readers sum per hour.
CREATE VIEW check_rollups AS
SELECT target_id, hour, checks, ok, latency_sum_ms, latency_max_ms, latency_count,
       latency_buckets
  FROM check_rollups_hourly
 UNION ALL
SELECT target_id, cur_hour, cur_checks, cur_ok, cur_latency_sum_ms, cur_latency_max_ms,
       cur_latency_count, cur_latency_buckets
  FROM target_state
 WHERE cur_hour IS NOT NULL;
