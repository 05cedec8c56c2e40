-- name: uptime
-- Sums of the roll-ups of [$2, $3), and the seconds of [$2, $8) that maintenance windows left
-- out of them (vigil_maintenance_excluded_s, migration 0015), in one pass: the whole UTC days [$4, $5) from the daily
-- roll-ups, the partial days at either end ([$2, $6) and [$7, $3), empty when they are) from
-- the hourly ones. A 30-day range reads at most 30 + 2 * 23 rows by the primary keys, not 720
-- hourly rows on 720 pages. The latency buckets are summed element by element for the
-- percentile estimate, spelled out (vigil_core.rollups.BUCKET_COUNT = 17; a test holds them
-- in step): an unnest ... GROUP BY over the same rows read them a second time and cost 3x.
SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1) AS found,
       coalesce(sum(r.checks), 0)::bigint AS checks,
       coalesce(sum(r.ok), 0)::bigint AS ok,
       coalesce(sum(r.latency_sum_ms), 0)::double precision AS latency_sum_ms,
       max(r.latency_max_ms) FILTER (WHERE r.latency_count > 0) AS latency_max_ms,
       coalesce(sum(r.latency_count), 0)::bigint AS latency_count,
       ARRAY[sum(r.latency_buckets[1]), sum(r.latency_buckets[2]), sum(r.latency_buckets[3]),
             sum(r.latency_buckets[4]), sum(r.latency_buckets[5]), sum(r.latency_buckets[6]),
             sum(r.latency_buckets[7]), sum(r.latency_buckets[8]), sum(r.latency_buckets[9]),
             sum(r.latency_buckets[10]), sum(r.latency_buckets[11]), sum(r.latency_buckets[12]),
             sum(r.latency_buckets[13]), sum(r.latency_buckets[14]), sum(r.latency_buckets[15]),
             sum(r.latency_buckets[16]), sum(r.latency_buckets[17])]::bigint[] AS buckets,
       vigil_maintenance_excluded_s($1, $2, $8) AS maintenance_s
  FROM (SELECT checks, ok, latency_sum_ms, latency_max_ms, latency_count, latency_buckets
          FROM check_rollups WHERE target_id = $1 AND hour >= $2 AND hour < $6
         UNION ALL
        SELECT checks, ok, latency_sum_ms, latency_max_ms, latency_count, latency_buckets
          FROM check_rollups_days WHERE target_id = $1 AND day >= $4 AND day < $5
         UNION ALL
        SELECT checks, ok, latency_sum_ms, latency_max_ms, latency_count, latency_buckets
          FROM check_rollups WHERE target_id = $1 AND hour >= $7 AND hour < $3) AS r;

-- name: daily
-- One row per UTC day from $2 to $3 (dates), days without roll-ups included with 0 checks, each
-- with the seconds maintenance windows left out of it; those are looked for day by day only
-- when the whole range had any.
SELECT d.day::date AS day, coalesce(sum(r.checks), 0)::bigint AS checks,
       coalesce(sum(r.ok), 0)::bigint AS ok,
       CASE WHEN (SELECT vigil_maintenance_excluded_s(
                             $1, $2::date::timestamp AT TIME ZONE 'UTC',
                             ($3::date + 1)::timestamp AT TIME ZONE 'UTC')) > 0
            THEN vigil_maintenance_excluded_s(
                     $1, d.day::date::timestamp AT TIME ZONE 'UTC',
                     (d.day::date + 1)::timestamp AT TIME ZONE 'UTC')
            ELSE 0 END::double precision AS maintenance_s
  FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
  LEFT JOIN check_rollups_days r ON r.target_id = $1 AND r.day = d.day::date
 GROUP BY d.day
 ORDER BY d.day;

-- name: latency
-- Hourly latency points in [$2, $3), hours with data only (summed per hour: the view
-- check_rollups can hold an hour in two rows, see migration 0004).
SELECT hour AS t,
       CASE WHEN sum(latency_count) > 0 THEN sum(latency_sum_ms) / sum(latency_count) END AS avg_ms,
       max(latency_max_ms) FILTER (WHERE latency_count > 0) AS max_ms,
       sum(checks)::bigint AS checks
  FROM check_rollups
 WHERE target_id = $1 AND hour >= $2 AND hour < $3
 GROUP BY hour
 ORDER BY hour;
