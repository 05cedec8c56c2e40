-- name: insert_targets
-- $8 targets named PREFIX-1..N, all at one address; the targets trigger schedules each at once.
INSERT INTO targets (name, kind, address, interval_s, timeout_s, failure_threshold, success_threshold)
SELECT $1 || '-' || g, $2, $3, $4, $5, $6, $7
  FROM generate_series(1, $8) AS g
RETURNING id;

-- name: spread_schedule
-- Anchors the given targets evenly over [$2, $2 + $3 s): a steady rate instead of one burst.
WITH ranked AS (
    SELECT id, (row_number() OVER (ORDER BY id) - 1)::float8 / count(*) OVER () AS frac
      FROM unnest($1::bigint[]) AS id
)
UPDATE schedule s
   SET anchor_at = $2::timestamptz + make_interval(secs => $3 * r.frac),
       next_check_at = $2::timestamptz + make_interval(secs => $3 * r.frac)
  FROM ranked r
 WHERE s.target_id = r.id;

-- name: all_due_now
UPDATE schedule SET anchor_at = now(), next_check_at = now();

-- name: count_checks
SELECT count(*) FROM checks;

-- name: window_checks
-- Checks started in [$1, $2): how many, and how many failed.
SELECT count(*) AS checks, count(*) FILTER (WHERE NOT ok) AS failed
  FROM checks
 WHERE checked_at >= $1 AND checked_at < $2;

-- name: now
SELECT now();

-- name: target_id_range
SELECT min(id), max(id) FROM targets;

-- name: latest_check
-- The newest check any target's state holds.
SELECT max(last_checked_at) + interval '1 ms' FROM target_state;

-- name: fill_state
-- Plausible current state for targets $1..$2: every 50th is down, the rest up, all just checked.
UPDATE target_state
   SET status = CASE WHEN target_id % 50 = 0 THEN 'down' ELSE 'up' END,
       since = now() - interval '3 hours',
       last_checked_at = now(), last_ok = target_id % 50 <> 0,
       last_latency_ms = 5 + (target_id % 40), last_status_code = 200,
       last_error_class = CASE WHEN target_id % 50 = 0 THEN 'status' END
 WHERE target_id BETWEEN $1 AND $2;

-- name: fill_rollups
-- The hourly roll-ups of targets $1..$2 for the hour $3 hours before the current one, 60 checks
-- an hour, ~1 % failed; $4 is the latency bucket histogram of a typical hour. Called hour by
-- hour, oldest first, so the table's pages hold an hour of all targets, as a running worker
-- leaves them (one row per target at the hour's first flush), not 48 hours of one target.
INSERT INTO check_rollups_hourly (target_id, hour, checks, ok, latency_sum_ms, latency_max_ms,
                                  latency_count, latency_buckets)
SELECT t.id, date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(hours => $3),
       60, 60 - (random() < 0.01)::int, 60 * 12.5, 40 + 20 * random(), 60, $4::int[]
  FROM targets t
 WHERE t.id BETWEEN $1 AND $2
 ORDER BY t.id;

-- name: rebuild_daily_rollups
-- The daily roll-ups of every hour written (fill_rollups runs with the row trigger off).
SELECT vigil_rollups_daily_rebuild(min(hour AT TIME ZONE 'UTC')::date,
                                   max(hour AT TIME ZONE 'UTC')::date + 1)
  FROM check_rollups_hourly;

-- name: ensure_partitions
SELECT vigil_ensure_check_partitions($1, 7);

-- name: fill_checks
-- Raw checks for targets $1..$2 every $4 s over the last $3 hours (~1 % failed).
INSERT INTO checks (target_id, checked_at, due_at, ok, latency_ms, status_code, error_class, error_message)
SELECT id, due + interval '3 ms', due, NOT failed, 5 + 20 * random(),
       CASE WHEN failed THEN 503 ELSE 200 END,
       CASE WHEN failed THEN 'status' END,
       CASE WHEN failed THEN 'unexpected status 503' END
  FROM (SELECT t.id, s.due, random() < 0.01 AS failed
          FROM targets t
         CROSS JOIN generate_series(now() - make_interval(hours => $3), now() - make_interval(secs => $4),
                                    make_interval(secs => $4)) AS s(due)
         WHERE t.id BETWEEN $1 AND $2
         ORDER BY s.due, t.id) AS x;

-- name: table_bytes
-- Heap + indexes + TOAST of a (partitioned) table and its partitions.
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
  FROM pg_class c
 WHERE c.oid = $1::regclass
    OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass);

-- name: schedule_lag
-- Start minus due time of the checks due in [$1, $2): p50, p99, max (seconds) and how many.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM checked_at - due_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM checked_at - due_at)) AS p99,
       max(extract(epoch FROM checked_at - due_at)) AS max,
       count(*) AS checks
  FROM checks
 WHERE due_at >= $1 AND due_at < $2;

-- name: schedule_slots
-- Per target over the window [$1, $2): slots it had (anchor + k * interval inside the window),
-- slots checked, checks stored, and its first check. Summed: missed slots, slots checked twice,
-- targets whose count is off by more than one, the latest first check after $1.
WITH per_target AS (
    SELECT t.id,
           ceil(extract(epoch FROM $2::timestamptz - greatest(s.anchor_at, $1::timestamptz)) / t.interval_s)
               AS expected,
           count(c.due_at) AS stored,
           count(DISTINCT c.due_at) AS slots,
           min(c.checked_at) AS first_check
      FROM targets t
      JOIN schedule s ON s.target_id = t.id
      LEFT JOIN checks c ON c.target_id = t.id AND c.due_at >= $1 AND c.due_at < $2
     GROUP BY t.id, s.anchor_at, t.interval_s
)
SELECT coalesce(sum(greatest(expected - slots, 0)), 0)::bigint AS missed,
       coalesce(sum(stored - slots), 0)::bigint AS duplicates,
       count(*) FILTER (WHERE abs(stored - $3::float8) > 1) AS off_count,
       count(*) FILTER (WHERE first_check IS NULL) AS never_checked,
       max(extract(epoch FROM first_check - $1::timestamptz)) AS first_check_max_s
  FROM per_target;

-- name: target_status
SELECT status FROM target_state WHERE target_id = $1;

-- name: healthy_verdicts
-- Over targets $1: failed checks since $2, incidents opened since $2, and targets not up now.
SELECT (SELECT count(*) FROM checks WHERE target_id = ANY($1) AND checked_at >= $2 AND NOT ok) AS failed,
       (SELECT count(*) FROM incidents WHERE target_id = ANY($1) AND started_at >= $2) AS incidents,
       (SELECT count(*) FROM target_state WHERE target_id = ANY($1) AND status <> 'up') AS not_up;

-- name: wake_workers
-- A hint on the workers' channel (as a target write would send) so they re-read the schedule now.
SELECT pg_notify('vigil_targets', json_build_object('op', 'update', 'id', $1::bigint)::text);

-- name: any_state_derived
SELECT EXISTS (SELECT 1 FROM target_state WHERE status <> 'pending');

-- name: first_check_delay
-- For targets named PREFIX-%: their first check's start minus the target's creation (the
-- NOTIFY -> claim -> start part of the reaction), p50 and p99 in seconds.
WITH firsts AS (
    SELECT t.id, min(c.checked_at) - t.created_at AS delay
      FROM targets t
      JOIN checks c ON c.target_id = t.id
     WHERE t.name LIKE $1 || '-%'
     GROUP BY t.id, t.created_at
)
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delay)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delay)) AS p99
  FROM firsts;

-- name: healthy_error_classes
-- Why checks of targets $1 failed since $2: error class and count, most frequent first.
SELECT error_class, count(*) AS n
  FROM checks
 WHERE target_id = ANY($1) AND checked_at >= $2 AND NOT ok
 GROUP BY error_class
 ORDER BY n DESC;

-- name: fill_status_page
-- A public status page `bench` showing targets $1..$2 in groups of 50, each under a display name
-- (the api scenario's page).
WITH page AS (
    INSERT INTO status_pages (slug, title, description)
    VALUES ('bench', 'Bench status', 'Synthetic targets of the api scenario.')
    RETURNING id
), groups AS (
    INSERT INTO status_page_groups (page_id, position, name)
    SELECT page.id, g, 'Group ' || (g + 1)
      FROM page, generate_series(0, ($2::bigint - $1::bigint) / 50) AS g
    RETURNING id, position
)
INSERT INTO status_page_targets (group_id, target_id, position, display_name)
SELECT groups.id, t.id, (t.id - $1) % 50, 'Service ' || (t.id - $1 + 1)
  FROM generate_series($1::bigint, $2::bigint) AS t (id)
  JOIN groups ON groups.position = (t.id - $1) / 50;

-- name: fill_older_days
-- Daily roll-ups of targets $1..$2 for the days 3 to 89 back (the hourly roll-ups cover the
-- last ones): 1,440 checks a day, one day in 20 with some failed; $3 is a day's latency
-- bucket histogram.
INSERT INTO check_rollups_daily (target_id, day, checks, ok, latency_sum_ms, latency_max_ms,
                                 latency_count, latency_buckets)
SELECT t.id, (now() AT TIME ZONE 'UTC')::date - d, 1440,
       1440 - CASE WHEN random() < 0.05 THEN 1 + (random() * 60)::int ELSE 0 END,
       1440 * 12.5, 60, 1440, $3::int[]
  FROM generate_series($1::bigint, $2::bigint) AS t (id), generate_series(3, 89) AS d
    ON CONFLICT (target_id, day) DO NOTHING;

-- name: fill_open_incidents
-- An open incident for each down target of $1..$2 (fill_state makes every 50th one down).
INSERT INTO incidents (target_id, started_at, cause)
SELECT s.target_id, now() - interval '3 hours', 'status'
  FROM target_state s
 WHERE s.target_id BETWEEN $1 AND $2 AND s.status = 'down'
    ON CONFLICT DO NOTHING;
