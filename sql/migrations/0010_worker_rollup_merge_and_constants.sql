-- The worker's SQL says each thing once: the roll-up merge, and the constants it shares with
-- the code and the tests. Nothing a reader sees changes.
--
-- 1. Named constants. The advisory-lock keys: a transaction-level lock that serialises the
--    creation of `checks` partitions, and one that lets a single worker run maintenance at a
--    time. The number of latency buckets: vigil_core.rollups.BUCKET_COUNT, the home of the
--    bounds (a test holds the two in step); vigil_buckets_add (0005) and the API's uptime
--    query spell the buckets out one by one, so that the planner inlines them.
CREATE FUNCTION vigil_partitions_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 7236001::bigint';

CREATE FUNCTION vigil_maintenance_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 7236002::bigint';

CREATE FUNCTION vigil_latency_bucket_count() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 17';

-- 2. An hour of roll-ups as the worker's flush sends it: the hours of a batch that go to
--    check_rollups_hourly, a row per target and hour (vigil_worker/flush.py checks these
--    attributes by name before it sends one).
--    The buckets travel as text ('{0,1,...}'): unnest() would flatten a 2-D integer array.
CREATE TYPE vigil_rollup_hour AS (
    target_id       bigint,
    hour            timestamptz,
    checks          integer,
    ok              integer,
    latency_sum_ms  double precision,
    latency_max_ms  real,
    latency_count   integer,
    latency_buckets text
);

-- 3. Each target's current roll-up hour (migration 0004) as a row of roll-ups: the rows the
--    flush moves into check_rollups_hourly when a later hour starts.
CREATE VIEW check_rollups_current AS
SELECT target_id, cur_hour AS hour, cur_checks AS checks, cur_ok AS ok,
       cur_latency_sum_ms AS latency_sum_ms, cur_latency_max_ms AS latency_max_ms,
       cur_latency_count AS latency_count, cur_latency_buckets AS latency_buckets
  FROM target_state
 WHERE cur_hour IS NOT NULL;

-- 4. The roll-up merge, written once: adds hours to check_rollups_hourly, summed into the row
--    of the same target and hour when there is one. `hours` is an array of any row type with
--    the fields of check_rollups_hourly, read by name: vigil_rollup_hour (a batch's hours) and
--    check_rollups_current (completed current hours). In target and hour order, so that two
--    flushes lock the rows they share in the same order. One call per statement: the planner
--    cannot inline a data-modifying function, but it plans it once per call, not per row.
CREATE FUNCTION vigil_rollups_hourly_add(hours anyarray) RETURNS void LANGUAGE sql AS $$
    INSERT INTO check_rollups_hourly AS r (target_id, hour, checks, ok, latency_sum_ms,
                                           latency_max_ms, latency_count, latency_buckets)
    SELECT h.target_id, h.hour, h.checks, h.ok, h.latency_sum_ms, h.latency_max_ms,
           h.latency_count, h.latency_buckets::integer[]
      FROM unnest(hours) AS h
     ORDER BY h.target_id, h.hour
    ON CONFLICT (target_id, hour) DO UPDATE SET
        checks          = r.checks + EXCLUDED.checks,
        ok              = r.ok + EXCLUDED.ok,
        latency_sum_ms  = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
        latency_max_ms  = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
        latency_count   = r.latency_count + EXCLUDED.latency_count,
        latency_buckets = vigil_buckets_add(r.latency_buckets, EXCLUDED.latency_buckets)
$$;
