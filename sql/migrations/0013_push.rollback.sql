-- Rolls back 0013_push: push tokens and unprocessed pings are gone (push targets stay, with a
-- schedule that comes due at once: roll back the workers first), and 0009's vigil_targets_sync.
CREATE OR REPLACE FUNCTION vigil_targets_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO target_state (target_id) VALUES (NEW.id);
    END IF;
    IF NOT NEW.enabled THEN
        DELETE FROM schedule WHERE target_id = NEW.id;
        IF TG_OP = 'UPDATE' AND OLD.enabled THEN
            UPDATE target_state SET status = 'paused', since = now(), consecutive_ok = 0,
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
DROP TABLE push_pings;
DROP TRIGGER targets_push_token ON targets;
DROP FUNCTION vigil_push_token_sync();
DROP TABLE push_tokens;
DROP FUNCTION vigil_push_new_token();
ALTER TABLE targets DROP CONSTRAINT targets_push_grace_valid;
DROP FUNCTION vigil_push_grace_s(jsonb);
