-- The push intake's SQL (vigil_worker/push.py). Positional parameters only.

-- name: claim_pings
-- Takes up to $1 pings that the API stored, oldest first; SKIP LOCKED lets every worker take
-- its own share and none take a ping twice. The rows are gone when this commits: each becomes
-- a result in this worker's buffer (see push.py for what that risks).
DELETE FROM push_pings
 WHERE id IN (SELECT id FROM push_pings ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, target_id, received_at, ok, message, duration_ms;
