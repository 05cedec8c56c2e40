-- What public status pages and badges read. Only what a visitor may see leaves these queries
-- (display names, statuses, roll-up counts, incident times, editors' updates), and none reads
-- the checks table: a burst of visitors costs the roll-ups' primary keys and target_state.

-- name: page
SELECT id, slug, title, description, logo_url, updated_at FROM status_pages WHERE slug = $1;

-- name: page_targets
-- The page's groups in order with their targets in order (a group without targets: one row
-- with a NULL target_id) and the status a client sees.
SELECT g.position AS group_position, g.name AS group_name, st.target_id, st.display_name,
       vigil_target_status(t.enabled, s.status, m.target_id IS NOT NULL) AS status,
       CASE WHEN t.enabled AND m.target_id IS NOT NULL THEN m.starts_at ELSE s.since END AS since
  FROM status_page_groups g
  LEFT JOIN status_page_targets st ON st.group_id = g.id
  LEFT JOIN targets t ON t.id = st.target_id
  LEFT JOIN target_state s ON s.target_id = t.id
  LEFT JOIN target_maintenance m ON m.target_id = t.id
 WHERE g.page_id = $1
 ORDER BY g.position, st.position;

-- name: daily
-- Uptime % per UTC day from $2 to $3 for each target of $1, oldest day first (NULL: no checks
-- that day), and over all those days; the view check_rollups_days adds the current hour, which
-- target_state holds, to its day. Computed here, so the API gets 90 numbers a target, not 90
-- rows to add up (in float8, rounded to 3 decimals: numeric arithmetic took several times as
-- long over the 45,000 days of a page of 500 targets).
WITH d AS (
    SELECT target_id, day, sum(checks) AS checks, sum(ok) AS ok
      FROM check_rollups_days
     WHERE target_id = ANY($1::bigint[]) AND day >= $2 AND day <= $3
     GROUP BY target_id, day
)
SELECT t.id AS target_id,
       array_agg(CASE WHEN d.checks > 0 THEN round(100000 * d.ok::float8 / d.checks) / 1000 END
                 ORDER BY g.day) AS daily,
       CASE WHEN sum(d.checks) > 0
            THEN round(100000 * sum(d.ok)::float8 / sum(d.checks)) / 1000 END AS uptime_pct
  FROM unnest($1::bigint[]) AS t (id)
 CROSS JOIN generate_series($2::date, $3::date, interval '1 day') AS g (day)
  LEFT JOIN d ON d.target_id = t.id AND d.day = g.day::date
 GROUP BY t.id;

-- name: maintenance
-- The windows covering any target of $1 that are on now ($2) or start before $3: the current
-- occurrence, else the next one, of each window. `covered` are the page's targets among the
-- window's; `named` the names of any targets that the window's name or description holds (the
-- page shows those as display names, never as they are: `named_ids`, `named`).
WITH due AS (
    SELECT DISTINCT ON (o.window_id) o.window_id, o.starts_at, o.ends_at
      FROM maintenance_occurrences o
     WHERE o.ends_at > $2 AND o.starts_at < $3
     ORDER BY o.window_id, o.starts_at
), covered AS (
    SELECT d.window_id, array_agg(t.id ORDER BY t.id) AS target_ids
      FROM due d
      JOIN maintenance_windows w ON w.id = d.window_id
      JOIN targets t
        ON t.id = ANY($1::bigint[])
       AND (EXISTS (SELECT 1 FROM maintenance_window_targets mt
                     WHERE mt.window_id = w.id AND mt.target_id = t.id)
            OR (w.match_labels <> '{}' AND t.labels @> w.match_labels))
     GROUP BY d.window_id
)
SELECT w.id AS window_id, w.name, w.description, w.updated_at, d.starts_at, d.ends_at,
       c.target_ids, n.ids AS named_ids, n.names AS named
  FROM covered c
  JOIN due d ON d.window_id = c.window_id
  JOIN maintenance_windows w ON w.id = c.window_id
 CROSS JOIN LATERAL (
       SELECT coalesce(array_agg(t.id ORDER BY t.id), '{}') AS ids,
              coalesce(array_agg(t.name ORDER BY t.id), '{}') AS names
         FROM targets t
        WHERE strpos(w.name, t.name) > 0 OR strpos(w.description, t.name) > 0) AS n
 ORDER BY d.starts_at, w.id
 LIMIT $4;

-- name: incidents
-- Incidents of the targets $1 that are open or ended since $2: open ones first, then newest;
-- never their cause.
SELECT id, target_id, started_at, ended_at
  FROM incidents
 WHERE target_id = ANY($1::bigint[]) AND (ended_at IS NULL OR ended_at >= $2)
 ORDER BY ended_at IS NULL DESC, started_at DESC, id DESC
 LIMIT $3;

-- name: incident_updates
-- The updates of the incidents $1, newest first; never their author.
SELECT incident_id, status, message, created_at
  FROM incident_updates
 WHERE incident_id = ANY($1::bigint[])
 ORDER BY incident_id, created_at DESC, id DESC;

-- name: badge_status
-- The status of a target that is on some status page (no row: it is on none). Its maintenance
-- from its own windows (vigil_target_window), not the view of every target's.
SELECT vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) AS status
  FROM targets t
  JOIN target_state s ON s.target_id = t.id
  LEFT JOIN LATERAL vigil_target_window(t.id, t.labels, now()) m ON true
 WHERE t.id = $1 AND EXISTS (SELECT 1 FROM status_page_targets st WHERE st.target_id = t.id);

-- name: badge_rollups
-- Checks, ok checks and latency sums over [$2, $3) of a target that is on some status page:
-- the whole UTC days [$4, $5) from the daily roll-ups, the hours at either end ([$2, $6) and
-- [$7, $3)) from the hourly ones, as the uptime endpoint reads them.
SELECT coalesce(sum(r.checks), 0)::bigint AS checks,
       coalesce(sum(r.ok), 0)::bigint AS ok,
       coalesce(sum(r.latency_sum_ms), 0)::double precision AS latency_sum_ms,
       coalesce(sum(r.latency_count), 0)::bigint AS latency_count
  FROM (SELECT checks, ok, latency_sum_ms, latency_count
          FROM check_rollups WHERE target_id = $1 AND hour >= $2 AND hour < $6
         UNION ALL
        SELECT checks, ok, latency_sum_ms, latency_count
          FROM check_rollups_days WHERE target_id = $1 AND day >= $4 AND day < $5
         UNION ALL
        SELECT checks, ok, latency_sum_ms, latency_count
          FROM check_rollups WHERE target_id = $1 AND hour >= $7 AND hour < $3) AS r
HAVING EXISTS (SELECT 1 FROM status_page_targets st WHERE st.target_id = $1);
