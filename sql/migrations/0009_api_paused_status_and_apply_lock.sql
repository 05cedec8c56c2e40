-- A disabled target's stored status says what it is: `paused`, no longer `unknown`, a value
-- no client ever saw (the API showed every disabled target as paused). The status a client
-- sees has one home, vigil_target_status(), instead of a CASE in each of the API's queries,
-- and the API's advisory-lock key has a name.

-- 1. The stored value.
ALTER TABLE target_state DROP CONSTRAINT target_state_status_valid;
UPDATE target_state SET status = 'paused' WHERE status = 'unknown';
ALTER TABLE target_state ADD CONSTRAINT target_state_status_valid
    CHECK (status IN ('up', 'down', 'pending', 'paused'));

-- 2. 0008's vigil_targets_sync with the new value: pausing stores `paused`.
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

-- 3. The status a client sees: `paused` while the target is disabled, whatever is stored (a
--    target created disabled keeps the `pending` its state row starts with), else the stored
--    one. A one-expression IMMUTABLE SQL function: the planner inlines it, so a query using it
--    plans as with the CASE written out.
CREATE FUNCTION vigil_target_status(target_enabled boolean, stored_status text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN target_enabled THEN stored_status ELSE 'paused' END $$;

-- 4. The advisory-lock key that runs one apply at a time (the API's apply/queries.sql). Its
--    value is hashtext('vigil_apply'), the key the API took before it had a name, so that API
--    processes of either version exclude each other during a rolling update.
CREATE FUNCTION vigil_apply_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 1496507848::bigint';
