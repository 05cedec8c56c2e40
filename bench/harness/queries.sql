-- name: insert_targets
-- $7 targets named PREFIX-1..N, all at one address; the targets trigger schedules each at once.
INSERT INTO targets (name, kind, address, interval_s, timeout_s, failure_threshold, success_threshold)
SELECT $1 || '-' || g, $2, $3, $4, $5, $6, $6
  FROM generate_series(1, $7) AS g
RETURNING id;

-- name: spread_schedule
-- Anchors the given targets evenly over [$2, $2 + $3 s): a steady rate instead of one burst.
WITH ranked AS (
    SELECT id, (row_number() OVER (ORDER BY id) - 1)::float8 / count(*) OVER () AS frac
      FROM unnest($1::bigint[]) AS id
)
UPDATE schedule s
   SET anchor_at = $2 + make_interval(secs => $3 * r.frac),
       next_check_at = $2 + make_interval(secs => $3 * r.frac)
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
