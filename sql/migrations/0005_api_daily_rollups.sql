-- Daily roll-ups, so that a long range reads a row per day instead of a row per hour. A
-- 30-day uptime read 720 hourly rows, each on a page of its own (a running worker writes an
-- hour of every target at a time), and its latency followed what happened to be cached. Now
-- the whole days of a range come from here and only the partial days at its ends from the
-- hourly table: at most 30 + 2 * 23 rows.
--
-- The trigger keeps each day the sum of its hours, whoever writes check_rollups_hourly (the
-- worker's move_hours and late results, a rollback of 0004, a seed script). A delete takes its
-- counts and sums back out; latency_max_ms cannot be taken back and stays an upper bound.

CREATE TABLE check_rollups_daily (
    target_id       bigint NOT NULL,
    day             date NOT NULL,  -- UTC
    checks          integer NOT NULL DEFAULT 0,
    ok              integer NOT NULL DEFAULT 0,
    latency_sum_ms  double precision NOT NULL DEFAULT 0,
    latency_max_ms  real NOT NULL DEFAULT 0,
    latency_count   integer NOT NULL DEFAULT 0,
    latency_buckets integer[] NOT NULL,
    PRIMARY KEY (target_id, day),
    CONSTRAINT check_rollups_daily_counts_valid
        CHECK (ok BETWEEN 0 AND checks AND latency_count BETWEEN 0 AND checks)
);

-- Element-wise a + sign * b of two latency bucket arrays (vigil_core.rollups.BUCKET_COUNT =
-- 17; a test holds them in step). Spelled out, so that the planner inlines it: the same sum
-- through unnest() ... ORDER BY ran a query per call. The trigger below, for move_hours
-- merging 5,000 hours into existing rows: 159 µs a row that way, 55 µs spelled out (29 µs
-- for new hours).
CREATE FUNCTION vigil_buckets_add(a integer[], b integer[], sign integer DEFAULT 1)
RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[a[1] + sign * b[1], a[2] + sign * b[2], a[3] + sign * b[3], a[4] + sign * b[4],
                 a[5] + sign * b[5], a[6] + sign * b[6], a[7] + sign * b[7], a[8] + sign * b[8],
                 a[9] + sign * b[9], a[10] + sign * b[10], a[11] + sign * b[11], a[12] + sign * b[12],
                 a[13] + sign * b[13], a[14] + sign * b[14], a[15] + sign * b[15], a[16] + sign * b[16],
                 a[17] + sign * b[17]]
$$;

CREATE FUNCTION vigil_rollups_daily_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE check_rollups_daily d
           SET checks = d.checks - OLD.checks, ok = d.ok - OLD.ok,
               latency_sum_ms = d.latency_sum_ms - OLD.latency_sum_ms,
               latency_count = d.latency_count - OLD.latency_count,
               latency_buckets = vigil_buckets_add(d.latency_buckets, OLD.latency_buckets, -1)
         WHERE d.target_id = OLD.target_id AND d.day = (OLD.hour AT TIME ZONE 'UTC')::date;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO check_rollups_daily AS d (target_id, day, checks, ok, latency_sum_ms,
                                              latency_max_ms, latency_count, latency_buckets)
        VALUES (NEW.target_id, (NEW.hour AT TIME ZONE 'UTC')::date, NEW.checks, NEW.ok,
                NEW.latency_sum_ms, NEW.latency_max_ms, NEW.latency_count, NEW.latency_buckets)
            ON CONFLICT (target_id, day) DO UPDATE SET
               checks = d.checks + EXCLUDED.checks, ok = d.ok + EXCLUDED.ok,
               latency_sum_ms = d.latency_sum_ms + EXCLUDED.latency_sum_ms,
               latency_max_ms = greatest(d.latency_max_ms, EXCLUDED.latency_max_ms),
               latency_count = d.latency_count + EXCLUDED.latency_count,
               latency_buckets = vigil_buckets_add(d.latency_buckets, EXCLUDED.latency_buckets);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER check_rollups_daily_sync AFTER INSERT OR UPDATE OR DELETE ON check_rollups_hourly
    FOR EACH ROW EXECUTE FUNCTION vigil_rollups_daily_sync();

-- Rebuilds the daily roll-ups of the UTC days [since, until) from the hourly table in one
-- pass: the backfill below, and bulk loads that write hourly rows with triggers off. Written
-- day by day, as a running worker leaves them, not a target's days side by side.
CREATE FUNCTION vigil_rollups_daily_rebuild(since date, until date)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM check_rollups_daily WHERE day >= since AND day < until;
    INSERT INTO check_rollups_daily (target_id, day, checks, ok, latency_sum_ms, latency_max_ms,
                                     latency_count, latency_buckets)
    SELECT h.target_id, (h.hour AT TIME ZONE 'UTC')::date, sum(h.checks), sum(h.ok),
           sum(h.latency_sum_ms), max(h.latency_max_ms), sum(h.latency_count),
           ARRAY[sum(h.latency_buckets[1]), sum(h.latency_buckets[2]), sum(h.latency_buckets[3]),
                 sum(h.latency_buckets[4]), sum(h.latency_buckets[5]), sum(h.latency_buckets[6]),
                 sum(h.latency_buckets[7]), sum(h.latency_buckets[8]), sum(h.latency_buckets[9]),
                 sum(h.latency_buckets[10]), sum(h.latency_buckets[11]), sum(h.latency_buckets[12]),
                 sum(h.latency_buckets[13]), sum(h.latency_buckets[14]), sum(h.latency_buckets[15]),
                 sum(h.latency_buckets[16]), sum(h.latency_buckets[17])]::integer[]
      FROM check_rollups_hourly h
     WHERE h.hour >= since::timestamp AT TIME ZONE 'UTC'
       AND h.hour < until::timestamp AT TIME ZONE 'UTC'
     GROUP BY 1, 2
     ORDER BY 2, 1;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

-- The days of the hours already there (a DO block: yoyo would print a SELECT's result).
DO $$
BEGIN
    PERFORM vigil_rollups_daily_rebuild(min(hour AT TIME ZONE 'UTC')::date,
                                        max(hour AT TIME ZONE 'UTC')::date + 1)
       FROM check_rollups_hourly
    HAVING count(*) > 0;
END $$;

-- Daily roll-ups as readers see them: the table and each target's current roll-up hour
-- (migration 0004), which can fall on a past day when the target is no longer checked. A day
-- can show in both parts: readers sum per day.
CREATE VIEW check_rollups_days AS
SELECT target_id, day, checks, ok, latency_sum_ms, latency_max_ms, latency_count,
       latency_buckets
  FROM check_rollups_daily
 UNION ALL
SELECT target_id, (cur_hour AT TIME ZONE 'UTC')::date, cur_checks, cur_ok, cur_latency_sum_ms,
       cur_latency_max_ms, cur_latency_count, cur_latency_buckets
  FROM target_state
 WHERE cur_hour IS NOT NULL;
