-- name: lock_apply
-- Applies run one at a time, so two of them never interleave their plans (the key is named
-- in migration 0009).
SELECT pg_advisory_xact_lock(vigil_apply_lock_key());

-- name: targets_for_apply
-- The stored targets the document names, or all of them when pruning; locked until commit.
-- Their dependencies as ids (as the API shows them) and as names (as apply files write them).
SELECT t.*,
       array(SELECT d.depends_on_id FROM target_dependencies d
              WHERE d.target_id = t.id ORDER BY d.depends_on_id) AS depends_on,
       array(SELECT p.name FROM target_dependencies d JOIN targets p ON p.id = d.depends_on_id
              WHERE d.target_id = t.id ORDER BY p.name) AS depends_on_names
  FROM targets t
 WHERE $2 OR t.name = ANY ($1::text[])
 ORDER BY t.name
   FOR UPDATE OF t;

-- name: target_ids
-- Stored targets the document depends on without describing them: held until commit.
SELECT id, name FROM targets WHERE name = ANY ($1::text[]) FOR KEY SHARE;

-- name: channels_for_apply
-- The stored channels the document names, or all of them when pruning. NO KEY UPDATE: a
-- route written meanwhile (which holds its channels FOR KEY SHARE) neither waits for this
-- apply nor deadlocks with it.
SELECT * FROM channels
 WHERE $2 OR name = ANY ($1::text[])
 ORDER BY name
   FOR NO KEY UPDATE;

-- name: channel_ids
-- Stored channels the document's routes name without describing them: held until commit.
SELECT id, name FROM channels WHERE name = ANY ($1::text[]) FOR KEY SHARE;

-- name: routes_for_apply
-- The stored routes the document names, or all of them when pruning, with their channels by
-- name in order; locked until commit.
SELECT r.*,
       array(SELECT c.name FROM route_channels rc JOIN channels c ON c.id = rc.channel_id
              WHERE rc.route_id = r.id ORDER BY rc.position, rc.channel_id) AS channel_names
  FROM routes r
 WHERE $2 OR r.name = ANY ($1::text[])
 ORDER BY r.name
   FOR UPDATE OF r;

-- name: windows_for_apply
-- The stored maintenance windows the document names, or all of them when pruning, with their
-- targets by name; locked until commit.
SELECT w.*,
       array(SELECT t.name FROM maintenance_window_targets mt JOIN targets t ON t.id = mt.target_id
              WHERE mt.window_id = w.id ORDER BY t.name) AS target_names
  FROM maintenance_windows w
 WHERE $2 OR w.name = ANY ($1::text[])
 ORDER BY w.name
   FOR UPDATE OF w;
