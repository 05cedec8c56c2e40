-- Maintenance windows (migration 0015) with their targets and occurrences. Reads take the time
-- from now(): in a write's transaction that is the moment the write planned with.

-- name: now
SELECT now();

-- name: windows
-- Windows with their target ids, the occurrence running now (current_*), the next one to
-- start (next_*) and when the last one ended, filtered by id ($1), state ($2) and a target
-- they cover ($3: listed, or matched by its labels), at most $4. A recurring window is upcoming
-- even when its next occurrence is not planned yet (service.py computes it). Active ones come
-- first (ending soonest first), then upcoming ones by their next start, then past ones, the
-- newest first.
SELECT *
  FROM (SELECT w.*, now() AS now,
               array(SELECT mt.target_id FROM maintenance_window_targets mt
                      WHERE mt.window_id = w.id ORDER BY mt.target_id) AS targets,
               cur.starts_at AS current_starts_at, cur.ends_at AS current_ends_at,
               nxt.starts_at AS next_starts_at, nxt.ends_at AS next_ends_at,
               (SELECT max(o.ends_at) FROM maintenance_occurrences o
                 WHERE o.window_id = w.id AND o.ends_at <= now()) AS last_ended_at,
               CASE WHEN cur.starts_at IS NOT NULL THEN 'active'
                    WHEN nxt.starts_at IS NOT NULL OR w.kind <> 'once' THEN 'upcoming'
                    ELSE 'past' END AS state
          FROM maintenance_windows w
          LEFT JOIN LATERAL (SELECT o.starts_at, o.ends_at FROM maintenance_occurrences o
                              WHERE o.window_id = w.id AND o.starts_at <= now()
                                AND o.ends_at > now()
                              ORDER BY o.ends_at DESC LIMIT 1) cur ON true
          LEFT JOIN LATERAL (SELECT o.starts_at, o.ends_at FROM maintenance_occurrences o
                              WHERE o.window_id = w.id AND o.starts_at > now()
                              ORDER BY o.starts_at LIMIT 1) nxt ON true
         WHERE ($1::bigint IS NULL OR w.id = $1)
           AND ($3::bigint IS NULL
                OR EXISTS (SELECT 1 FROM maintenance_window_targets mt
                            WHERE mt.window_id = w.id AND mt.target_id = $3)
                OR (w.match_labels <> '{}'
                    AND EXISTS (SELECT 1 FROM targets t
                                 WHERE t.id = $3 AND t.labels @> w.match_labels)))) AS x
 WHERE ($2::text IS NULL OR x.state = $2)
 ORDER BY CASE x.state WHEN 'active' THEN 0 WHEN 'upcoming' THEN 1 ELSE 2 END,
          CASE WHEN x.state = 'active' THEN x.current_ends_at END,
          CASE WHEN x.state = 'upcoming' THEN x.next_starts_at END NULLS LAST,
          CASE WHEN x.state = 'past' THEN coalesce(x.last_ended_at, x.ends_at) END DESC NULLS LAST,
          x.id DESC
 LIMIT $4;

-- name: lock_window
SELECT id, kind FROM maintenance_windows WHERE id = $1 FOR UPDATE;

-- name: insert_window
INSERT INTO maintenance_windows (name, description, kind, match_labels, starts_at, ends_at, days,
                                 start_time, cron, duration_s, time_zone, include_in_uptime)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: replace_window
UPDATE maintenance_windows
   SET name = $2, description = $3, kind = $4, match_labels = $5, starts_at = $6, ends_at = $7,
       days = $8, start_time = $9, cron = $10, duration_s = $11, time_zone = $12,
       include_in_uptime = $13, updated_at = now()
 WHERE id = $1;

-- name: set_window_targets
-- The window covers exactly the targets $2: only the rows that change are written (each is
-- audited).
WITH gone AS (
    DELETE FROM maintenance_window_targets
     WHERE window_id = $1 AND NOT (target_id = ANY ($2::bigint[]))
)
INSERT INTO maintenance_window_targets (window_id, target_id)
SELECT $1, t FROM unnest($2::bigint[]) AS t
ON CONFLICT DO NOTHING;

-- name: existing_targets
-- Which of these targets exist, with their names; each is held (KEY SHARE) until the window's
-- write commits, so none can be deleted in between.
SELECT id, name FROM targets WHERE id = ANY ($1::bigint[]) FOR KEY SHARE;

-- name: names_like
-- Names taken by windows other than $2 named $1 or "$1 (n)", for a made-up name that is free.
SELECT name FROM maintenance_windows
 WHERE (name = $1 OR starts_with(name, $1 || ' (')) AND id <> $2;

-- name: delete_window
DELETE FROM maintenance_windows WHERE id = $1 RETURNING id;

-- name: schedule
SELECT id, kind, starts_at, ends_at, days, start_time, cron, duration_s, time_zone,
       planned_until, now() AS now
  FROM maintenance_windows
 WHERE id = $1;

-- name: occurrences
-- The $3 occurrences of window $1 that ended most recently and the $3 next ones that have not
-- (the one running now included), oldest first.
SELECT * FROM (
    (SELECT starts_at, ends_at, ended_early FROM maintenance_occurrences
      WHERE window_id = $1 AND ends_at <= $2
      ORDER BY starts_at DESC LIMIT $3)
    UNION ALL
    (SELECT starts_at, ends_at, ended_early FROM maintenance_occurrences
      WHERE window_id = $1 AND ends_at > $2
      ORDER BY starts_at LIMIT $3)
) AS o
ORDER BY starts_at;
