-- name: target_exists
SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1);

-- name: list_checks
SELECT target_id, checked_at, due_at, ok, latency_ms, status_code, error_class, error_message, timings
  FROM checks
 WHERE target_id = $1
 ORDER BY checked_at DESC
 LIMIT $2;
