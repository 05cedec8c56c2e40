-- name: latest_results
-- The newest result of each target in $1, as the worker left it in target_state.
SELECT target_id, last_checked_at AS checked_at, last_ok AS ok, last_latency_ms AS latency_ms,
       last_status_code AS status_code, last_error_class AS error_class
  FROM target_state
 WHERE target_id = ANY($1::bigint[]) AND last_checked_at IS NOT NULL;
