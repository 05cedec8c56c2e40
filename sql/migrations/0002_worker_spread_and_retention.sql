-- Worker: spread the first checks of bulk writes over their first interval, and the
-- partition-retention function the worker's maintenance runs under an advisory lock.

-- The row trigger of 0001 makes every new or re-anchored target due now(), which a single
-- POST needs (checked within milliseconds). A statement that writes many targets at once
-- would then fire them all in the same instant, so this statement-level trigger spreads
-- the rows that statement (re)anchored: row i of n gets anchor now() + interval * i / n.
-- The first row stays due at once; a one-row statement is left untouched.
CREATE FUNCTION vigil_targets_spread_rows(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT s.target_id, t.interval_s,
               row_number() OVER (ORDER BY s.target_id) - 1 AS rn,
               count(*) OVER () AS total
          FROM schedule s
          JOIN targets t ON t.id = s.target_id
         -- anchored by the row trigger in this transaction and not yet checked
         WHERE s.target_id = ANY (ids) AND s.anchor_at = now() AND s.next_check_at = now()
    )
    UPDATE schedule s
       SET anchor_at     = now() + make_interval(secs => f.interval_s * f.rn / f.total),
           next_check_at = now() + make_interval(secs => f.interval_s * f.rn / f.total)
      FROM fresh f
     WHERE s.target_id = f.target_id AND f.total > 1;
$$;

CREATE FUNCTION vigil_targets_spread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM vigil_targets_spread_rows(ARRAY(SELECT id FROM new_rows));
    ELSE
        -- only the rows this statement re-anchored (the same test as vigil_targets_sync)
        PERFORM vigil_targets_spread_rows(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.enabled AND (NOT o.enabled
                OR (n.kind, n.address, n.interval_s, n.timeout_s, n.settings)
                   IS DISTINCT FROM (o.kind, o.address, o.interval_s, o.timeout_s, o.settings))));
    END IF;
    RETURN NULL;
END $$;

-- Transition tables need one trigger per event.
CREATE TRIGGER targets_spread_insert AFTER INSERT ON targets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_targets_spread();
CREATE TRIGGER targets_spread_update AFTER UPDATE ON targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
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
