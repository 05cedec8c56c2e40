-- name: list_incidents
-- Newest first by (started_at, id); $1 limits to one target, $2/$3 is the keyset position,
-- $4 keeps only open (true) or closed (false) incidents.
SELECT i.id, i.target_id, t.name AS target_name, i.started_at, i.ended_at, i.cause,
       extract(epoch FROM coalesce(i.ended_at, now()) - i.started_at)::double precision AS duration_s
  FROM incidents i
  JOIN targets t ON t.id = i.target_id
 WHERE ($1::bigint IS NULL OR i.target_id = $1)
   AND ($2::timestamptz IS NULL OR (i.started_at, i.id) < ($2, $3))
   AND ($4::boolean IS NULL OR (i.ended_at IS NULL) = $4)
 ORDER BY i.started_at DESC, i.id DESC
 LIMIT $5;

-- name: incident_exists
SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1);

-- name: list_updates
-- An incident's updates in the order they were posted.
SELECT id, incident_id, status, message, author, created_at
  FROM incident_updates
 WHERE incident_id = $1
 ORDER BY created_at, id;

-- name: insert_update
-- Nothing when the incident does not exist (or is deleted meanwhile: the FK is checked here).
INSERT INTO incident_updates (incident_id, status, message, author)
SELECT i.id, $2, $3, $4 FROM incidents i WHERE i.id = $1
RETURNING id, incident_id, status, message, author, created_at;

-- name: delete_update
DELETE FROM incident_updates WHERE id = $2 AND incident_id = $1 RETURNING id;
