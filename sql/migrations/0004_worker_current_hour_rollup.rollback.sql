-- Fold every current hour back into check_rollups_hourly first: nothing counted is lost.
INSERT INTO check_rollups_hourly AS r (target_id, hour, checks, ok, latency_sum_ms,
                                       latency_max_ms, latency_count, latency_buckets)
SELECT target_id, cur_hour, cur_checks, cur_ok, cur_latency_sum_ms, cur_latency_max_ms,
       cur_latency_count, cur_latency_buckets
  FROM target_state
 WHERE cur_hour IS NOT NULL
    ON CONFLICT (target_id, hour) DO UPDATE SET
       checks          = r.checks + EXCLUDED.checks,
       ok              = r.ok + EXCLUDED.ok,
       latency_sum_ms  = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
       latency_max_ms  = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
       latency_count   = r.latency_count + EXCLUDED.latency_count,
       latency_buckets = ARRAY(SELECT a + b
                                 FROM unnest(r.latency_buckets, EXCLUDED.latency_buckets) AS x(a, b));

DROP VIEW IF EXISTS check_rollups;

ALTER TABLE target_state
    DROP CONSTRAINT IF EXISTS target_state_cur_hour_aligned,
    DROP CONSTRAINT IF EXISTS target_state_cur_counts_valid,
    DROP COLUMN IF EXISTS cur_latency_buckets,
    DROP COLUMN IF EXISTS cur_latency_count,
    DROP COLUMN IF EXISTS cur_latency_max_ms,
    DROP COLUMN IF EXISTS cur_latency_sum_ms,
    DROP COLUMN IF EXISTS cur_ok,
    DROP COLUMN IF EXISTS cur_checks,
    DROP COLUMN IF EXISTS cur_hour;
