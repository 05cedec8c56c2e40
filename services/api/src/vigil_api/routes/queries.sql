-- Routes and their channels (route_channels, in order of position).

-- name: insert_route
INSERT INTO routes (name, match_labels, send_resolved, delay_s, short_outage,
                    repeat_interval_s, enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: replace_route
UPDATE routes
   SET name = $2, match_labels = $3, send_resolved = $4, delay_s = $5, short_outage = $6,
       repeat_interval_s = $7, enabled = $8, updated_at = now()
 WHERE id = $1
RETURNING id;

-- name: clear_route_channels
DELETE FROM route_channels WHERE route_id = $1;

-- name: add_route_channels
-- $2: the channel ids in order; their position is their index.
INSERT INTO route_channels (route_id, channel_id, position)
SELECT $1, c.id, c.pos - 1
  FROM unnest($2::bigint[]) WITH ORDINALITY AS c (id, pos);

-- name: existing_channels
-- Which of these channels exist; each is held (KEY SHARE) until the route's write commits,
-- so none can be deleted in between.
SELECT id FROM channels WHERE id = ANY($1::bigint[]) FOR KEY SHARE;

-- name: get_route
SELECT r.*,
       ARRAY(SELECT rc.channel_id FROM route_channels rc
              WHERE rc.route_id = r.id ORDER BY rc.position, rc.channel_id) AS channels
  FROM routes r
 WHERE r.id = $1;

-- name: get_route_for_update
SELECT r.*,
       ARRAY(SELECT rc.channel_id FROM route_channels rc
              WHERE rc.route_id = r.id ORDER BY rc.position, rc.channel_id) AS channels
  FROM routes r
 WHERE r.id = $1
   FOR UPDATE OF r;

-- name: list_routes
-- Keyset pagination on id: $1 is the last id of the previous page (0 for the first).
SELECT r.*,
       ARRAY(SELECT rc.channel_id FROM route_channels rc
              WHERE rc.route_id = r.id ORDER BY rc.position, rc.channel_id) AS channels
  FROM routes r
 WHERE r.id > $1
 ORDER BY r.id
 LIMIT $2;

-- name: delete_route
DELETE FROM routes WHERE id = $1 RETURNING id;
