-- Rolls back 0008_worker_idempotent_flush_and_pause: the function and index of 0001.
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
        END IF;
    ELSIF TG_OP = 'INSERT' OR NOT OLD.enabled
          OR (NEW.kind, NEW.address, NEW.interval_s, NEW.timeout_s, NEW.settings)
             IS DISTINCT FROM (OLD.kind, OLD.address, OLD.interval_s, OLD.timeout_s, OLD.settings) THEN
        INSERT INTO schedule (target_id, anchor_at, next_check_at) VALUES (NEW.id, now(), now())
        ON CONFLICT (target_id) DO UPDATE SET anchor_at = EXCLUDED.anchor_at,
                                              next_check_at = EXCLUDED.next_check_at;
        IF TG_OP = 'UPDATE' AND NOT OLD.enabled THEN
            UPDATE target_state SET status = 'pending', since = now(), updated_at = now()
             WHERE target_id = NEW.id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE INDEX IF NOT EXISTS checks_target_time_idx ON checks (target_id, checked_at DESC);
DROP INDEX IF EXISTS checks_target_time_key;
