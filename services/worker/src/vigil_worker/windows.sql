-- The maintenance windows task's SQL (vigil_worker/windows.py). Positional parameters only.
-- Planning ahead is vigil_core.windows.extend's (vigil_core/windows.sql).

-- name: db_now
SELECT now();

-- name: release_held
-- Firings that suppress_due held because their target was in maintenance, whose incident is
-- still open and whose target is in maintenance no more (the window ended, was ended early or
-- deleted, or the target left it): pending again and due now, for any worker's dispatcher;
-- maintenance_window_id stays as the record that it was held. Reminders held meanwhile stay
-- suppressed (the next one comes in its time). The incident row is share-locked with SKIP
-- LOCKED: a flush that is closing it holds it, and then either that close commits (its resolve
-- was written while the firing was suppressed, so both stay suppressed) or it rolls back and
-- the next round releases the firing. Walks deliveries_held_idx.
WITH held AS (
    SELECT d.id
      FROM deliveries d
      JOIN incidents i ON i.id = d.incident_id AND i.ended_at IS NULL
     WHERE d.status = 'suppressed' AND d.maintenance_window_id IS NOT NULL
       AND d.event_kind = 'firing'
       -- (a hashed subplan: the targets in maintenance are read once, not once a row)
       AND d.target_id NOT IN (SELECT tm.target_id FROM target_maintenance tm)
       FOR UPDATE OF d SKIP LOCKED
       FOR SHARE OF i SKIP LOCKED
)
UPDATE deliveries d
   SET status = 'pending', next_attempt_at = now(), released_at = now(), last_error = NULL,
       finished_at = NULL
  FROM held h, channels c
 WHERE d.id = h.id AND c.id = d.channel_id
RETURNING d.id, d.channel_id, c.kind AS channel_kind, d.target_id, d.incident_id,
          d.maintenance_window_id;

-- name: wake_dispatchers
-- Delivered at commit, with the released rows: every worker's dispatcher runs a round.
SELECT pg_notify('vigil_alerts', '');

-- name: boundaries
-- The occurrences running now (as three arrays, in order) and the seconds from the database's
-- clock to the next moment one starts or ends (NULL: none planned). Walks
-- maintenance_occurrences_ends_idx over the occurrences that have not ended.
SELECT coalesce(array_agg(o.window_id ORDER BY o.window_id, o.starts_at)
                    FILTER (WHERE o.starts_at <= now()), '{}') AS window_ids,
       coalesce(array_agg(o.starts_at ORDER BY o.window_id, o.starts_at)
                    FILTER (WHERE o.starts_at <= now()), '{}') AS starts,
       coalesce(array_agg(o.ends_at ORDER BY o.window_id, o.starts_at)
                    FILTER (WHERE o.starts_at <= now()), '{}') AS ends,
       extract(epoch FROM min(CASE WHEN o.starts_at > now() THEN o.starts_at ELSE o.ends_at END)
                          - clock_timestamp())::double precision AS next_in_s
  FROM maintenance_occurrences o
 WHERE o.ends_at > now();

-- name: announce
-- MaintenanceChanged on vigil_status ($1 channel, $2 payload), delivered at commit.
SELECT pg_notify($1, $2);
