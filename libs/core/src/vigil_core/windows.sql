-- Maintenance windows' occurrences (windows.py), for the API and the worker.

-- name: drop_planned
-- A window's schedule changed: its occurrences that have not ended are planned anew, but one
-- that was ended early stays ended.
DELETE FROM maintenance_occurrences
 WHERE window_id = $1 AND ends_at > $2 AND NOT ended_early;

-- name: add_occurrences
INSERT INTO maintenance_occurrences (window_id, starts_at, ends_at)
SELECT $1, u.starts_at, u.ends_at
  FROM unnest($2::timestamptz[], $3::timestamptz[]) AS u(starts_at, ends_at)
ON CONFLICT (window_id, starts_at) DO NOTHING;

-- name: set_planned_until
UPDATE maintenance_windows SET planned_until = $2 WHERE id = $1;

-- name: windows_to_extend
-- Recurring windows whose plan ends before $1 (the horizon the worker keeps).
SELECT id, kind, starts_at, ends_at, days, start_time, cron, duration_s, time_zone, planned_until
  FROM maintenance_windows
 WHERE kind <> 'once' AND (planned_until IS NULL OR planned_until < $1)
 ORDER BY id
   FOR UPDATE SKIP LOCKED;

-- name: end_occurrence
-- Ends the window's occurrence that is running at $2: it ends now, and stays ended.
UPDATE maintenance_occurrences
   SET ends_at = greatest($2, starts_at + interval '1 millisecond'), ended_early = true
 WHERE window_id = $1 AND starts_at <= $2 AND ends_at > $2
RETURNING starts_at, ends_at;

-- name: end_once
UPDATE maintenance_windows SET ends_at = $2, updated_at = now()
 WHERE id = $1 AND kind = 'once';
