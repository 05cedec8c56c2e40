-- Rolls back 0009_api_paused_status_and_apply_lock: 0008's vigil_targets_sync and the stored
-- status `unknown`. The API of 0009 calls the functions dropped here: roll the API back first.
DROP FUNCTION vigil_apply_lock_key();
DROP FUNCTION vigil_target_status(boolean, text);

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

ALTER TABLE target_state DROP CONSTRAINT target_state_status_valid;
UPDATE target_state SET status = 'unknown' WHERE status = 'paused';
ALTER TABLE target_state ADD CONSTRAINT target_state_status_valid
    CHECK (status IN ('up', 'down', 'pending', 'unknown'));
