-- name: insert_target
-- The targets_sync trigger schedules the target and the targets_notify trigger sends the
-- NOTIFY, both in this statement's transaction.
INSERT INTO targets (name, kind, address, interval_s, timeout_s, enabled, settings,
                     failure_threshold, success_threshold, labels)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: replace_target
UPDATE targets
   SET name = $2, kind = $3, address = $4, interval_s = $5, timeout_s = $6, enabled = $7,
       settings = $8, failure_threshold = $9, success_threshold = $10, labels = $11,
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: set_enabled
UPDATE targets SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: delete_target
DELETE FROM targets WHERE id = $1 RETURNING id;

-- name: get_target
-- The target with its current status ('paused' when disabled), since when, and its last check.
SELECT t.*, CASE WHEN t.enabled THEN s.status ELSE 'paused' END AS status, s.since,
       s.last_checked_at, s.last_latency_ms, s.last_error_class, s.tls_expires_at
  FROM targets t LEFT JOIN target_state s ON s.target_id = t.id
 WHERE t.id = $1;

-- name: get_target_for_update
SELECT * FROM targets WHERE id = $1 FOR UPDATE;

-- name: list_targets
-- Keyset pagination on id: $1 is the last id of the previous page (0 for the first).
SELECT t.*, CASE WHEN t.enabled THEN s.status ELSE 'paused' END AS status, s.since,
       s.last_checked_at, s.last_latency_ms, s.last_error_class, s.tls_expires_at
  FROM targets t LEFT JOIN target_state s ON s.target_id = t.id
 WHERE t.id > $1
   AND ($3::text IS NULL OR t.kind = $3)
 ORDER BY t.id
 LIMIT $2;

-- name: target_exists
SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1);
