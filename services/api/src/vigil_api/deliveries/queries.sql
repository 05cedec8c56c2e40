-- Deliveries as the API shows them: with their channel's name and kind and their target's name.

-- name: list_deliveries
-- Newest first by id; $1 is the last id of the previous page (null for the first); $2..$5
-- filter by target, incident, channel and status when not null.
SELECT d.*, c.name AS channel_name, c.kind AS channel_kind, t.name AS target_name
  FROM deliveries d
  JOIN channels c ON c.id = d.channel_id
  LEFT JOIN targets t ON t.id = d.target_id
 WHERE ($1::bigint IS NULL OR d.id < $1)
   AND ($2::bigint IS NULL OR d.target_id = $2)
   AND ($3::bigint IS NULL OR d.incident_id = $3)
   AND ($4::bigint IS NULL OR d.channel_id = $4)
   AND ($5::text IS NULL OR d.status = $5)
 ORDER BY d.id DESC
 LIMIT $6;

-- name: get_delivery
SELECT d.*, c.name AS channel_name, c.kind AS channel_kind, t.name AS target_name
  FROM deliveries d
  JOIN channels c ON c.id = d.channel_id
  LEFT JOIN targets t ON t.id = d.target_id
 WHERE d.id = $1;

-- name: delivery_status
SELECT status FROM deliveries WHERE id = $1;

-- name: lock_delivery
SELECT id, status, event_kind, incident_id, attempts, next_attempt_at
  FROM deliveries WHERE id = $1 FOR UPDATE;

-- name: resolve_gone
-- The resolve of this firing's or reminder's incident that has gone, or is going, to the same
-- channel (tried, or inside a digest).
SELECT r.id, r.status
  FROM deliveries d
  JOIN deliveries r ON r.incident_id = d.incident_id AND r.channel_id = d.channel_id
 WHERE d.id = $1 AND d.event_kind IN ('firing', 'reminder') AND r.event_kind = 'resolved'
   AND (r.attempts > 0 OR r.digest_id IS NOT NULL)
 ORDER BY r.id
 LIMIT 1;

-- name: retry_delivery
-- Back to pending, due now. attempts are kept (it may have left before); created_at restarts,
-- so it gets another 24 h of retries. Wakes the dispatchers.
WITH retried AS (
    UPDATE deliveries
       SET status = 'pending', next_attempt_at = now(), created_at = now(),
           finished_at = NULL, lease_until = NULL, leased_by = NULL
     WHERE id = $1
    RETURNING id
)
SELECT pg_notify('vigil_alerts', '') FROM retried;
