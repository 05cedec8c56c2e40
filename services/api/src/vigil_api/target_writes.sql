-- The writes of targets that both the targets endpoints and apply run (target_writes.py).
-- The targets_sync trigger schedules the target and the targets_notify trigger sends the
-- NOTIFY, both in the writing statement's transaction.

-- name: insert_target
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

-- name: delete_target
DELETE FROM targets WHERE id = $1 RETURNING id;
