-- Seed data for UI tests: history that would take the worker days to produce.
-- Only for tests that run the API without a worker, so nothing overwrites it.

-- name: rollup
INSERT INTO check_rollups_hourly
    (target_id, hour, checks, ok, latency_sum_ms, latency_max_ms, latency_count, latency_buckets)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: check
INSERT INTO checks
    (target_id, checked_at, due_at, ok, latency_ms, status_code, error_class, error_message, timings)
VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8);

-- name: state
UPDATE target_state
SET status = $2, since = $3, last_checked_at = $4, last_ok = $5, last_latency_ms = $6,
    last_status_code = $7, last_error_class = $8, tls_expires_at = $9, updated_at = now()
WHERE target_id = $1;

-- name: incident
INSERT INTO incidents (target_id, started_at, ended_at, cause) VALUES ($1, $2, $3, $4);

-- name: many_targets
INSERT INTO targets (name, kind, address, interval_s, timeout_s, labels)
SELECT 'service-' || lpad(i::text, 5, '0'), 'http', 'http://127.0.0.1:9/svc/' || i, 60, 10,
       jsonb_build_object('shard', (i % 10)::text)
FROM generate_series(1, $1::integer) AS i;

-- name: many_states
UPDATE target_state
SET status = CASE WHEN target_id % 97 = 0 THEN 'down' ELSE 'up' END,
    last_checked_at = now(), last_ok = target_id % 97 <> 0, last_latency_ms = 20 + target_id % 180;
