-- Synthetic results for the scenarios that need results flowing without a worker
-- (bench/harness/feed.py): what a worker's flush leaves in target_state.

-- name: feed_results
-- New results of targets $1: just checked, up or down as their state says.
UPDATE target_state
   SET last_checked_at = now(), last_ok = status <> 'down',
       last_latency_ms = 5 + (target_id % 40) + random() * 3, updated_at = now()
 WHERE target_id = ANY($1::bigint[]);

-- name: feed_flip
-- Targets $1 change state (up <-> down), as the worker's state machine would; returns what the
-- StateChanged notification carries.
UPDATE target_state
   SET status = CASE WHEN status = 'down' THEN 'up' ELSE 'down' END, since = now()
 WHERE target_id = ANY($1::bigint[])
RETURNING target_id, status, CASE WHEN status = 'down' THEN 'up' ELSE 'down' END AS previous,
          since;
