-- Worker: spread the first checks of bulk writes over their first interval, and the
-- partition-retention function the worker's maintenance runs under an advisory lock.

-- The row trigger of 0001 makes every new or re-anchored target due now(), which a single
-- POST needs (checked within milliseconds). A statement that writes many targets at once
-- would then fire them all in the same instant, so this statement-level trigger spreads
-- the rows that statement (re)anchored: row i of n gets anchor now() + interval * i / n.
-- The first row stays due at once; a one-row statement is left untouched.
CREATE FUNCTION vigil_targets_spread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH fresh AS (
        SELECT s.target_id, n.interval_s,
               row_number() OVER (ORDER BY s.target_id) - 1 AS rn,
               count(*) OVER () AS total
          FROM new_rows n
          JOIN schedule s ON s.target_id = n.id
         -- anchored by the row trigger in this transaction and not yet checked
         WHERE s.anchor_at = now() AND s.next_check_at = now()
    )
    UPDATE schedule s
       SET anchor_at     = now() + make_interval(secs => f.interval_s * f.rn / f.total),
           next_check_at = now() + make_interval(secs => f.interval_s * f.rn / f.total)
      FROM fresh f
     WHERE s.target_id = f.target_id AND f.total > 1;
    RETURN NULL;
END $$;

-- Transition tables need one trigger per event.
CREATE TRIGGER targets_spread_insert AFTER INSERT ON targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_targets_spread();
CREATE TRIGGER targets_spread_update AFTER UPDATE ON targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_targets_spread();

-- Drops the daily partitions of `checks` that end on or before `keep_days` days ago (UTC);
-- returns how many it dropped. Partitions are named checks_YYYYMMDD by
-- vigil_ensure_check_partitions, so the name carries the day.
CREATE FUNCTION vigil_drop_old_check_partitions(keep_days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part text;
    dropped integer := 0;
BEGIN
    IF keep_days < 1 THEN
        RAISE EXCEPTION 'keep_days must be at least 1, got %', keep_days;
    END IF;
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
          JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = 'checks'
           AND c.relname ~ '^checks_[0-9]{8}$'
           AND to_date(substring(c.relname from 8), 'YYYYMMDD') + 1
               <= (now() AT TIME ZONE 'UTC')::date - keep_days
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;
