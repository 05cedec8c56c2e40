-- A check is stored once, and pausing a target ends its incident.
--
-- 1. A flush whose COMMIT went through while its connection dropped was retried and stored
--    the same rows again. The unique key makes that impossible; the worker also skips what a
--    retried flush finds stored, so its state and roll-ups count each check once.
--    PostgreSQL requires the partition key (checked_at) in every unique index of a
--    partitioned table, so the key is (target_id, checked_at, due_at): a retried row is the
--    same row, time and all. It replaces checks_target_time_idx (its first two columns), so
--    a flush maintains no more indexes than before. Rows stored twice before this migration
--    are removed first, or the key could not be built.
DELETE FROM checks c
 USING (SELECT tableoid, ctid,
               row_number() OVER (PARTITION BY target_id, checked_at, due_at ORDER BY ctid) AS n
          FROM checks) d
 WHERE d.n > 1 AND c.tableoid = d.tableoid AND c.ctid = d.ctid;
CREATE UNIQUE INDEX checks_target_time_key ON checks (target_id, checked_at DESC, due_at);
DROP INDEX checks_target_time_idx;

-- 2. Pausing a target that is down closes its open incident at the pause (the cause stays);
--    resuming starts afresh in `pending`. target_state is updated first: it waits for a
--    flush of this target that holds its row, so an incident that flush opens is seen, and
--    closed, by the UPDATE of incidents that follows.
CREATE OR REPLACE FUNCTION vigil_targets_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO target_state (target_id) VALUES (NEW.id);
    END IF;
    IF NOT NEW.enabled THEN
        DELETE FROM schedule WHERE target_id = NEW.id;
        IF TG_OP = 'UPDATE' AND OLD.enabled THEN
            UPDATE target_state SET status = 'unknown', since = now(), consecutive_ok = 0,
                                    consecutive_fail = 0, updated_at = now()
             WHERE target_id = NEW.id;
            UPDATE incidents SET ended_at = greatest(now(), started_at)
             WHERE target_id = NEW.id AND ended_at IS NULL;
        END IF;
    ELSIF TG_OP = 'INSERT' OR NOT OLD.enabled
          OR (NEW.kind, NEW.address, NEW.interval_s, NEW.timeout_s, NEW.settings)
             IS DISTINCT FROM (OLD.kind, OLD.address, OLD.interval_s, OLD.timeout_s, OLD.settings) THEN
        INSERT INTO schedule (target_id, anchor_at, next_check_at) VALUES (NEW.id, now(), now())
        ON CONFLICT (target_id) DO UPDATE SET anchor_at = EXCLUDED.anchor_at,
                                              next_check_at = EXCLUDED.next_check_at;
        IF TG_OP = 'UPDATE' AND NOT OLD.enabled THEN
            UPDATE target_state SET status = 'pending', since = now(), consecutive_ok = 0,
                                    consecutive_fail = 0, updated_at = now()
             WHERE target_id = NEW.id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
