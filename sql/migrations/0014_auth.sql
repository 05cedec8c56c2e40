-- Authentication and the audit log: users with roles, API tokens and browser sessions stored as
-- keyed hashes, failed logins for rate limiting, and one audit row per change a person or a
-- token made (docs/security.md).

-- 1. People. Roles map to scopes: viewer -> read, editor -> write, admin -> admin.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    role text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CONSTRAINT users_name_valid CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    CONSTRAINT users_role_valid CHECK (role IN ('viewer', 'editor', 'admin'))
);

-- 2. Machine credentials. `hash` is HMAC-SHA256(server key, token); `prefix` is what lists show.
--    A token made by a user never has more than that user's current role (checked on use) and
--    goes with the user; one made by `vigil token create` (created_by_user_id NULL) has its scope.
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    prefix text NOT NULL,
    hash bytea NOT NULL UNIQUE,
    scope text NOT NULL,
    created_by text NOT NULL,
    created_by_user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_tokens_name_valid
        CHECK (char_length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
    CONSTRAINT api_tokens_scope_valid CHECK (scope IN ('read', 'write', 'admin'))
);
CREATE UNIQUE INDEX api_tokens_active_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;

-- 3. Browser sessions: `hash` is HMAC-SHA256(server key, the cookie's value).
CREATE TABLE sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash bytea NOT NULL UNIQUE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    address text,
    user_agent text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- 4. Failed logins, counted per user name and per client address over a window.
CREATE TABLE login_failures (
    at timestamptz NOT NULL DEFAULT now(),
    username text NOT NULL,
    address text NOT NULL
);
CREATE INDEX login_failures_username_idx ON login_failures (username, at);
CREATE INDEX login_failures_address_idx ON login_failures (address, at);

-- 5. Who changed what. Rows come from the triggers below (whenever the writing transaction set
--    the `vigil.audit` context: the API does for every unsafe request) and from vigil_audit()
--    for what changes no table row (logins, apply runs). Secrets are masked before they land.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    actor_kind text NOT NULL,
    address text,
    via text,
    action text NOT NULL,
    object_kind text NOT NULL,
    object_id text,
    object_name text,
    before jsonb,
    after jsonb,
    CONSTRAINT audit_log_actor_kind_valid
        CHECK (actor_kind IN ('user', 'token', 'cli', 'system', 'anonymous'))
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_kind, object_id, id DESC);

-- The one writer of audit rows. `context` is {actor, actor_kind, address, via}.
CREATE FUNCTION vigil_audit(context jsonb, action text, object_kind text, object_id text,
                            object_name text, before jsonb, after jsonb) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO audit_log (actor, actor_kind, address, via, action, object_kind, object_id,
                           object_name, before, after)
    VALUES (coalesce(context->>'actor', 'unknown'), coalesce(context->>'actor_kind', 'system'),
            context->>'address', context->>'via', action, object_kind, object_id, object_name,
            before, after)
$$;

-- A target address as readers may see it: a URL's password masked (vigil_core.secrets'
-- mask_address; a test compares the two).
CREATE FUNCTION vigil_mask_address(address text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT regexp_replace(address, '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*):[^/?#@]+@',
                                '\1:********@') $$;

-- What alert receivers get of a target: 0011's payload, with the address masked.
CREATE OR REPLACE FUNCTION vigil_alert_payload(event text, t targets, i incidents, at timestamptz)
    RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'event', event,
        'target', jsonb_build_object('id', t.id, 'name', t.name, 'kind', t.kind,
                                     'address', vigil_mask_address(t.address),
                                     'labels', t.labels),
        'incident', jsonb_build_object('id', i.id, 'started_at', i.started_at,
                                       'ended_at', i.ended_at, 'cause', i.cause),
        'occurred_at', at)
$$;

-- What an audit row may show of a row: timestamps of bookkeeping dropped, secrets masked.
-- The channel fields are vigil_core.channels.SECRETS (a test compares the two).
CREATE FUNCTION vigil_audit_mask(object_kind text, r jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    mask constant jsonb := '"********"';
    secret_fields text[];
    f text;
BEGIN
    IF r IS NULL THEN
        RETURN NULL;
    END IF;
    CASE object_kind
    WHEN 'target' THEN
        IF jsonb_typeof(r->'settings'->'headers') = 'object' THEN
            r := jsonb_set(r, '{settings,headers}', coalesce(
                (SELECT jsonb_object_agg(key, mask) FROM jsonb_each(r->'settings'->'headers')),
                '{}'));
        END IF;
        IF r ? 'address' THEN
            r := jsonb_set(r, '{address}', to_jsonb(vigil_mask_address(r->>'address')));
        END IF;
    WHEN 'channel' THEN
        secret_fields := CASE r->>'kind'
            WHEN 'webhook' THEN ARRAY['secret', 'headers']
            WHEN 'slack' THEN ARRAY['url']
            WHEN 'discord' THEN ARRAY['url']
            WHEN 'teams' THEN ARRAY['url']
            WHEN 'telegram' THEN ARRAY['bot_token']
            WHEN 'ntfy' THEN ARRAY['token']
            WHEN 'pagerduty' THEN ARRAY['routing_key']
            WHEN 'email' THEN ARRAY['password']
            WHEN 'apprise' THEN ARRAY['urls']
            ELSE ARRAY[]::text[] END;
        FOREACH f IN ARRAY secret_fields LOOP
            IF r->'config' ? f AND r->'config'->f <> 'null' THEN
                r := jsonb_set(r, ARRAY['config', f], mask);
            END IF;
        END LOOP;
    WHEN 'token' THEN
        r := r - 'hash';
    WHEN 'user' THEN
        r := (r - 'password_hash') || jsonb_build_object('password', mask);
    WHEN 'push_token' THEN
        r := jsonb_set(r, '{token}', mask);
    ELSE
        NULL;
    END CASE;
    RETURN r;
END $$;

-- Row triggers: TG_ARGV[0] is the object kind. Updates keep only the keys that changed
-- (compared before masking, so a new password or header value still shows as a change).
CREATE FUNCTION vigil_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    context jsonb := current_setting('vigil.audit', true)::jsonb;
    kind text := TG_ARGV[0];
    bookkeeping constant text[] := ARRAY['created_at', 'updated_at', 'last_used_at',
                                         'last_login_at', 'last_seen_at'];
    old_row jsonb;
    new_row jsonb;
    ref jsonb;
    changed text[];
    action text := CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE lower(TG_OP) END;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - bookkeeping;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - bookkeeping;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.key) INTO changed
        FROM jsonb_each(new_row) n WHERE n.value IS DISTINCT FROM old_row->n.key;
        IF changed IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    ref := coalesce(new_row, old_row);
    old_row := vigil_audit_mask(kind, old_row);
    new_row := vigil_audit_mask(kind, new_row);
    IF TG_OP = 'UPDATE' THEN
        -- A masked secret's key (password_hash -> password) is kept when its source changed.
        IF kind = 'user' AND 'password_hash' = ANY (changed) THEN
            changed := changed || 'password'::text;
        END IF;
        old_row := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(old_row)
                    WHERE key = ANY (changed));
        new_row := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(new_row)
                    WHERE key = ANY (changed));
    END IF;
    PERFORM vigil_audit(
        context, action, kind,
        CASE
            WHEN ref ? 'id' THEN ref->>'id'
            WHEN ref ? 'channel_id' THEN (ref->>'route_id') || '/' || (ref->>'channel_id')
            WHEN ref ? 'depends_on_id' THEN (ref->>'target_id') || '/' || (ref->>'depends_on_id')
            ELSE ref->>'target_id'
        END,
        ref->>'name', old_row, new_row);
    RETURN NULL;
END $$;

-- Only changes made under an audit context (the API's unsafe requests, `vigil user` and
-- `vigil token`) are recorded; the worker's own bookkeeping writes are not.
CREATE TRIGGER targets_audit AFTER INSERT OR UPDATE OR DELETE ON targets FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('target');
CREATE TRIGGER target_dependencies_audit AFTER INSERT OR UPDATE OR DELETE ON target_dependencies
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('target_dependency');
CREATE TRIGGER channels_audit AFTER INSERT OR UPDATE OR DELETE ON channels FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('channel');
CREATE TRIGGER routes_audit AFTER INSERT OR UPDATE OR DELETE ON routes FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('route');
CREATE TRIGGER route_channels_audit AFTER INSERT OR UPDATE OR DELETE ON route_channels
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('route_channel');
CREATE TRIGGER push_tokens_audit AFTER INSERT OR UPDATE OR DELETE ON push_tokens FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('push_token');
CREATE TRIGGER deliveries_audit AFTER INSERT OR UPDATE ON deliveries FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('delivery');
CREATE TRIGGER api_tokens_audit AFTER INSERT OR UPDATE OR DELETE ON api_tokens FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('token');
CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW
    WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('user');

-- 6. Every API replica caches credentials briefly; a revocation, a role or password change or a
--    deletion tells them all to drop the cache.
CREATE FUNCTION vigil_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vigil_auth', '');
    RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_auth_changed AFTER UPDATE OF revoked_at, scope, expires_at OR DELETE
    ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION vigil_auth_changed();
CREATE TRIGGER sessions_auth_changed AFTER UPDATE OF revoked_at, expires_at OR DELETE
    ON sessions FOR EACH STATEMENT EXECUTE FUNCTION vigil_auth_changed();
CREATE TRIGGER users_auth_changed AFTER UPDATE OF role, password_hash OR DELETE
    ON users FOR EACH STATEMENT EXECUTE FUNCTION vigil_auth_changed();
