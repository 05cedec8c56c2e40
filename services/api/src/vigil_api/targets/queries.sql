-- The inserts, replaces and deletes that apply runs too are in ../target_writes.sql.

-- name: set_enabled
UPDATE targets SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: get_target
-- The target with the status clients see (vigil_target_status: 'paused' when disabled,
-- 'maintenance' while a window covers it), since when, and its last check; its dependencies
-- read by target_dependencies' primary key; the window it is in (vigil_target_window, which
-- reads only this target's).
SELECT t.*, vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) AS status,
       s.since, s.last_checked_at, s.last_latency_ms, s.last_error_class, s.tls_expires_at,
       array(SELECT d.depends_on_id FROM target_dependencies d
              WHERE d.target_id = t.id ORDER BY d.depends_on_id) AS depends_on,
       m.window_id AS maintenance_window_id, m.window_name AS maintenance_name,
       m.ends_at AS maintenance_ends_at
  FROM targets t
  LEFT JOIN target_state s ON s.target_id = t.id
  LEFT JOIN LATERAL vigil_target_window(t.id, t.labels, now()) m ON true
 WHERE t.id = $1;

-- name: get_target_for_update
-- NO KEY UPDATE, the lock the UPDATE takes: a PATCH does not change the id, so it need not
-- wait for a transaction that is adding a dependency on this target (a foreign key's KEY SHARE).
SELECT t.*,
       array(SELECT d.depends_on_id FROM target_dependencies d
              WHERE d.target_id = t.id ORDER BY d.depends_on_id) AS depends_on
  FROM targets t
 WHERE t.id = $1
   FOR NO KEY UPDATE OF t;

-- name: list_targets
-- Keyset pagination on id: $1 is the last id of the previous page (0 for the first).
SELECT t.*, vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) AS status,
       s.since, s.last_checked_at, s.last_latency_ms, s.last_error_class, s.tls_expires_at,
       array(SELECT d.depends_on_id FROM target_dependencies d
              WHERE d.target_id = t.id ORDER BY d.depends_on_id) AS depends_on,
       m.window_id AS maintenance_window_id, m.window_name AS maintenance_name,
       m.ends_at AS maintenance_ends_at
  FROM targets t
  LEFT JOIN target_state s ON s.target_id = t.id
  LEFT JOIN LATERAL vigil_target_window(t.id, t.labels, now()) m ON true
 WHERE t.id > $1
   AND ($3::text IS NULL OR t.kind = $3)
 ORDER BY t.id
 LIMIT $2;

-- name: target_exists
SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1);

-- name: push_token
-- A push target's secret (migration 0013 makes one for every push target).
SELECT token FROM push_tokens WHERE target_id = $1;
