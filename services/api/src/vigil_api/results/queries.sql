-- name: list_checks
-- Newest first in [$2, $3). Keyset: rows at or before $4 (the last time of the previous page),
-- skipping the $5 rows at exactly that time that the previous page already returned. The
-- tie order (ctid within the day's partition) is stable because checks are never updated.
SELECT checked_at, due_at, ok, latency_ms, status_code, error_class, error_message, timings,
       details, maintenance_window_id
  FROM checks
 WHERE target_id = $1
   AND checked_at >= $2 AND checked_at < $3
   AND checked_at <= $4
 ORDER BY checked_at DESC, ctid DESC
OFFSET $5
 LIMIT $6;
