-- name: summary_page
-- A page of targets by name (keyset: $5 is the last name of the previous page; the unique
-- index on name serves the order), each with its state and its uptime over the roll-up hours
-- since $7 (at most 25 rows per target, read by the roll-ups' primary key).
-- The status is vigil_target_status() (migration 0015): 'paused' while disabled, 'maintenance'
-- while a window covers the target (view target_maintenance, which also says which window).
SELECT t.id, t.name, t.kind, t.address, t.enabled,
       vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) AS status,
       s.since, s.last_checked_at, s.last_latency_ms, s.last_error_class, s.tls_expires_at,
       (SELECT CASE WHEN sum(r.checks) > 0
                    THEN round(100.0 * sum(r.ok) / sum(r.checks), 4)::double precision END
          FROM check_rollups r
         WHERE r.target_id = t.id AND r.hour >= $7) AS uptime_24h,
       m.window_id AS maintenance_window_id, m.window_name AS maintenance_name,
       m.ends_at AS maintenance_ends_at
  FROM targets t
  JOIN target_state s ON s.target_id = t.id
  LEFT JOIN target_maintenance m ON m.target_id = t.id
 WHERE ($1::text IS NULL OR t.kind = $1)
   AND ($2::jsonb IS NULL OR t.labels @> $2::jsonb)
   AND ($3::text IS NULL OR strpos(lower(t.name), lower($3)) > 0)
   AND ($4::text IS NULL OR vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) = $4)
   AND ($5::text IS NULL OR t.name > $5)
 ORDER BY t.name
 LIMIT $6;

-- name: summary_counts
-- Counts by state under the same kind/label/name filters (not the state filter, so a
-- dashboard can show every state's count next to the filtered list).
SELECT vigil_target_status(t.enabled, s.status, m.window_id IS NOT NULL) AS status,
       count(*)::bigint AS n
  FROM targets t
  JOIN target_state s ON s.target_id = t.id
  LEFT JOIN target_maintenance m ON m.target_id = t.id
 WHERE ($1::text IS NULL OR t.kind = $1)
   AND ($2::jsonb IS NULL OR t.labels @> $2::jsonb)
   AND ($3::text IS NULL OR strpos(lower(t.name), lower($3)) > 0)
 GROUP BY 1;

-- name: state_counts
-- Unfiltered counts without joining 100k targets: every target's state ...
SELECT status, count(*)::bigint AS n FROM target_state GROUP BY status;

-- name: disabled_counts
-- ... with the disabled ones (few; read through targets_disabled_idx) moved from the status
-- they store to the one they show.
SELECT s.status AS stored, vigil_target_status(t.enabled, s.status) AS status, count(*)::bigint AS n
  FROM targets t
  JOIN target_state s ON s.target_id = t.id
 WHERE NOT t.enabled
 GROUP BY 1, 2;

-- name: maintenance_counts
-- ... and the enabled ones in a maintenance window (few; the view reads the occurrences running
-- now) moved from the status they store to `maintenance`.
SELECT s.status AS stored, count(*)::bigint AS n
  FROM target_maintenance m
  JOIN targets t ON t.id = m.target_id
  JOIN target_state s ON s.target_id = t.id
 WHERE t.enabled
 GROUP BY 1;
