-- Channels. A write clears broken_at/broken_reason: the change may well be the fix.

-- name: insert_channel
INSERT INTO channels (name, kind, config, enabled)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: replace_channel
UPDATE channels
   SET name = $2, kind = $3, config = $4, enabled = $5,
       broken_at = NULL, broken_reason = NULL, updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: get_channel
SELECT * FROM channels WHERE id = $1;

-- name: get_channel_for_update
SELECT * FROM channels WHERE id = $1 FOR UPDATE;

-- name: list_channels
-- Keyset pagination on id: $1 is the last id of the previous page (0 for the first).
SELECT * FROM channels WHERE id > $1 ORDER BY id LIMIT $2;

-- name: delete_channel
-- Its place in routes (route_channels) and its deliveries go with it (ON DELETE CASCADE).
DELETE FROM channels WHERE id = $1 RETURNING id;

-- name: lock_channel
-- The channel a test is sent to, held until the test delivery is written.
SELECT id, enabled FROM channels WHERE id = $1 FOR KEY SHARE;

-- name: insert_test
-- A test event and its one delivery, due now, and the wake-up of the dispatchers; the
-- delivery's id is returned.
WITH ev AS (
    INSERT INTO alert_events (kind, payload)
    VALUES ('test', jsonb_build_object('event', 'test', 'occurred_at', now()))
    RETURNING id
), d AS (
    INSERT INTO deliveries (event_id, channel_id, event_kind)
    SELECT ev.id, $1, 'test' FROM ev
    RETURNING id
)
SELECT d.id, pg_notify('vigil_alerts', '') FROM d;
