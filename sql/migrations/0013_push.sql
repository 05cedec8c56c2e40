-- Push (heartbeat) targets: a secret token per target, the pings received and not yet turned
-- into results, and a schedule that comes due only when no successful ping came in time.

-- 1. A push target's grace (PushSettings.grace_s, whose default is repeated here once: rows
--    written by hand may lack it). The worker's tests compare the two defaults.
CREATE FUNCTION vigil_push_grace_s(settings jsonb) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce((settings->>'grace_s')::double precision, 60) $$;

ALTER TABLE targets ADD CONSTRAINT targets_push_grace_valid CHECK (
    kind <> 'push' OR settings->'grace_s' IS NULL OR jsonb_typeof(settings->'grace_s') = 'null'
    OR (jsonb_typeof(settings->'grace_s') = 'number'
        AND (settings->>'grace_s')::double precision BETWEEN 0 AND 86400));

-- 2. The secret of a push URL (/api/v1/push/<token>): 64 hex characters, the SHA-256 of two
--    random UUIDs (244 random bits; core PostgreSQL has no gen_random_bytes without pgcrypto).
--    Made by a trigger, so every writer (API, apply, psql) gets one; a target that stops being
--    a push target loses its token, so no ping can move the schedule of another kind.
CREATE FUNCTION vigil_push_new_token() RETURNS text
    LANGUAGE sql VOLATILE
    AS $$ SELECT encode(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())), 'hex') $$;

CREATE TABLE push_tokens (
    target_id  bigint PRIMARY KEY REFERENCES targets ON DELETE CASCADE,
    token      text NOT NULL UNIQUE CONSTRAINT push_tokens_token_valid CHECK (token ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION vigil_push_token_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'push' THEN
        INSERT INTO push_tokens (target_id, token) VALUES (NEW.id, vigil_push_new_token())
        ON CONFLICT (target_id) DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND OLD.kind = 'push' THEN
        DELETE FROM push_tokens WHERE target_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER targets_push_token AFTER INSERT OR UPDATE OF kind ON targets
    FOR EACH ROW EXECUTE FUNCTION vigil_push_token_sync();

-- 3. Pings received by the API, claimed (DELETE ... SKIP LOCKED) by a worker, which turns each
--    into a check result. Short-lived rows: the table stays small while a worker runs.
CREATE TABLE push_pings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id   bigint NOT NULL REFERENCES targets ON DELETE CASCADE,
    received_at timestamptz NOT NULL DEFAULT now(),
    ok          boolean NOT NULL,
    message     text CONSTRAINT push_pings_message_valid CHECK (char_length(message) <= 500),
    duration_ms double precision CONSTRAINT push_pings_duration_valid
                CHECK (duration_ms >= 0 AND duration_ms <= 604800000)
);

-- 4. The schedule of a push target: its next slot is due interval_s + grace_s after it starts
--    (the API's ping moves it the same way), never at once: a slot claimed means `missed`.
--    0009's vigil_targets_sync with only that change.
CREATE OR REPLACE FUNCTION vigil_targets_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wait interval := CASE WHEN NEW.kind = 'push'
                          THEN make_interval(secs => vigil_push_grace_s(NEW.settings))
                          ELSE interval '0' END;
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
        -- a push target: anchored after its grace, its first slot one period later
        INSERT INTO schedule (target_id, anchor_at, next_check_at)
        VALUES (NEW.id, now() + wait,
                now() + CASE WHEN NEW.kind = 'push'
                             THEN wait + make_interval(secs => NEW.interval_s)
                             ELSE interval '0' END)
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

-- 5. Push targets that exist already (created under 0012): tokens, and a schedule that waits.
INSERT INTO push_tokens (target_id, token)
SELECT id, vigil_push_new_token() FROM targets WHERE kind = 'push';
UPDATE schedule s
   SET anchor_at = now() + make_interval(secs => vigil_push_grace_s(t.settings)),
       next_check_at = now() + make_interval(secs => vigil_push_grace_s(t.settings) + t.interval_s)
  FROM targets t
 WHERE t.id = s.target_id AND t.kind = 'push';
