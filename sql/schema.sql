-- The schema that every migration in sql/migrations produces (a normalised pg_dump --schema-only).
-- Generated: do not edit. After adding a migration, regenerate it with
--   uv run python -m vigil_core.migrations --manifest --write-schema


-- TYPE: vigil_rollup_hour

CREATE TYPE public.vigil_rollup_hour AS (
	target_id bigint,
	hour timestamp with time zone,
	checks integer,
	ok integer,
	latency_sum_ms double precision,
	latency_max_ms real,
	latency_count integer,
	latency_buckets text
);


-- TYPE: vigil_state_flush

CREATE TYPE public.vigil_state_flush AS (
	target_id bigint,
	status text,
	since timestamp with time zone,
	consecutive_ok integer,
	consecutive_fail integer,
	checked_at timestamp with time zone,
	ok boolean,
	latency_ms real,
	status_code smallint,
	error_class text,
	error_message text,
	tls_expires_at timestamp with time zone,
	cur_hour timestamp with time zone,
	checks integer,
	ok_checks integer,
	latency_sum_ms double precision,
	latency_max_ms real,
	latency_count integer,
	latency_buckets text
);


-- TABLE: incidents

CREATE TABLE public.incidents (
    id bigint NOT NULL,
    target_id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    cause text NOT NULL,
    CONSTRAINT incidents_end_after_start CHECK (((ended_at IS NULL) OR (ended_at >= started_at)))
);


-- TABLE: targets

CREATE TABLE public.targets (
    id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    address text NOT NULL,
    interval_s double precision NOT NULL,
    timeout_s double precision NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    failure_threshold integer DEFAULT 1 NOT NULL,
    success_threshold integer DEFAULT 1 NOT NULL,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT targets_address_valid CHECK ((((char_length(address) >= 1) AND (char_length(address) <= 2048)) AND (address !~ '\s'::text) AND
CASE kind
    WHEN 'http'::text THEN (address ~* '^https?://[^/?#]+'::text)
    WHEN 'tcp'::text THEN ((address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'::text) AND ((("substring"(address, ':([0-9]{1,5})$'::text))::integer >= 1) AND (("substring"(address, ':([0-9]{1,5})$'::text))::integer <= 65535)))
    WHEN 'tls'::text THEN ((address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'::text) AND ((("substring"(address, ':([0-9]{1,5})$'::text))::integer >= 1) AND (("substring"(address, ':([0-9]{1,5})$'::text))::integer <= 65535)))
    WHEN 'icmp'::text THEN (address ~ '^[^/\[\]]+$'::text)
    WHEN 'dns'::text THEN ((address ~ '^[^/\[\]:]+$'::text) AND (char_length(address) <= 254))
    WHEN 'push'::text THEN (address = 'push'::text)
    ELSE true
END)),
    CONSTRAINT targets_failure_threshold_valid CHECK (((failure_threshold >= 1) AND (failure_threshold <= 100))),
    CONSTRAINT targets_interval_valid CHECK (((interval_s >= (1)::double precision) AND (interval_s <= (86400)::double precision))),
    CONSTRAINT targets_kind_valid CHECK ((kind = ANY (ARRAY['http'::text, 'tcp'::text, 'icmp'::text, 'dns'::text, 'tls'::text, 'push'::text]))),
    CONSTRAINT targets_labels_object CHECK ((jsonb_typeof(labels) = 'object'::text)),
    CONSTRAINT targets_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 200)) AND (name = btrim(name)))),
    CONSTRAINT targets_push_grace_valid CHECK (((kind <> 'push'::text) OR ((settings -> 'grace_s'::text) IS NULL) OR (jsonb_typeof((settings -> 'grace_s'::text)) = 'null'::text) OR ((jsonb_typeof((settings -> 'grace_s'::text)) = 'number'::text) AND ((((settings ->> 'grace_s'::text))::double precision >= (0)::double precision) AND (((settings ->> 'grace_s'::text))::double precision <= (86400)::double precision))))),
    CONSTRAINT targets_settings_object CHECK ((jsonb_typeof(settings) = 'object'::text)),
    CONSTRAINT targets_success_threshold_valid CHECK (((success_threshold >= 1) AND (success_threshold <= 100))),
    CONSTRAINT targets_timeout_valid CHECK (((timeout_s > (0)::double precision) AND (timeout_s < interval_s)))
);


-- FUNCTION: vigil_alert_firing(public.targets, public.incidents)

CREATE FUNCTION public.vigil_alert_firing(t public.targets, i public.incidents) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    ev bigint;
    parent_down boolean;
BEGIN
    INSERT INTO alert_events (kind, target_id, incident_id, occurred_at, payload)
    VALUES ('firing', t.id, i.id, i.started_at,
            vigil_alert_payload('firing', t, i, i.started_at))
    ON CONFLICT DO NOTHING
    RETURNING id INTO ev;
    IF ev IS NULL THEN
        RETURN;
    END IF;
    SELECT EXISTS (SELECT 1 FROM target_dependencies d
                     JOIN incidents p ON p.target_id = d.depends_on_id AND p.ended_at IS NULL
                    WHERE d.target_id = t.id)
      INTO parent_down;
    INSERT INTO deliveries (event_id, channel_id, route_id, target_id, incident_id, event_kind,
                            status, send_resolved, next_attempt_at, last_error, finished_at)
    SELECT DISTINCT ON (c.id)
           ev, c.id, r.id, t.id, i.id, 'firing',
           CASE WHEN parent_down THEN 'suppressed' ELSE 'pending' END,
           bool_or(r.send_resolved) OVER (PARTITION BY c.id),
           i.started_at + make_interval(secs => r.delay_s),
           CASE WHEN parent_down THEN 'a target it depends on is down' END,
           CASE WHEN parent_down THEN now() END
      FROM routes r
      JOIN route_channels rc ON rc.route_id = r.id
      JOIN channels c ON c.id = rc.channel_id
     WHERE r.enabled AND c.enabled AND t.labels @> r.match_labels
     ORDER BY c.id, r.delay_s, r.id;
END $$;


-- FUNCTION: vigil_alert_payload(text, public.targets, public.incidents, timestamp with time zone)

CREATE FUNCTION public.vigil_alert_payload(event text, t public.targets, i public.incidents, at timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
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


-- FUNCTION: vigil_alert_resolved(public.targets, public.incidents)

CREATE FUNCTION public.vigil_alert_resolved(t public.targets, i public.incidents) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    ev bigint;
BEGIN
    INSERT INTO alert_events (kind, target_id, incident_id, occurred_at, payload)
    VALUES ('resolved', t.id, i.id, i.ended_at,
            vigil_alert_payload('resolved', t, i, i.ended_at))
    ON CONFLICT DO NOTHING
    RETURNING id INTO ev;
    IF ev IS NULL THEN
        RETURN;
    END IF;
    -- Firings not yet tried: collapsed by the resolve. (Locks them: a dispatcher claims with
    -- SKIP LOCKED, so one that is being claimed now is either seen as tried or not claimed.)
    WITH held AS (
        UPDATE deliveries d
           SET status = 'collapsed', finished_at = now(), lease_until = NULL,
               last_error = 'the incident ended before the route''s delay_s'
         WHERE d.incident_id = i.id AND d.event_kind = 'firing'
           AND d.status = 'pending' AND d.attempts = 0 AND d.next_attempt_at > i.ended_at
        RETURNING d.channel_id, d.route_id)
    INSERT INTO deliveries (event_id, channel_id, route_id, target_id, incident_id, event_kind,
                            status, summary, finished_at, last_error)
    SELECT ev, h.channel_id, h.route_id, t.id, i.id, 'resolved',
           CASE WHEN r.short_outage = 'summary' THEN 'pending' ELSE 'collapsed' END,
           true,
           CASE WHEN r.short_outage = 'summary' THEN NULL ELSE now() END,
           CASE WHEN r.short_outage = 'summary' THEN NULL
                ELSE 'the incident ended before the route''s delay_s' END
      FROM held h
      LEFT JOIN routes r ON r.id = h.route_id
    ON CONFLICT DO NOTHING;

    INSERT INTO deliveries (event_id, channel_id, route_id, target_id, incident_id, event_kind,
                            status, finished_at, last_error)
    SELECT ev, d.channel_id, d.route_id, t.id, i.id, 'resolved',
           CASE WHEN d.status = 'suppressed' THEN 'suppressed' ELSE 'pending' END,
           CASE WHEN d.status = 'suppressed' THEN now() END,
           CASE WHEN d.status = 'suppressed' THEN 'its firing was suppressed' END
      FROM deliveries d
     WHERE d.incident_id = i.id AND d.event_kind = 'firing' AND d.send_resolved
       AND (d.status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')
            OR (d.status = 'collapsed' AND d.digest_id IS NOT NULL))
    ON CONFLICT DO NOTHING;
END $$;


-- FUNCTION: vigil_apply_lock_key()

CREATE FUNCTION public.vigil_apply_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT 1496507848::bigint$$;


-- FUNCTION: vigil_audit(jsonb, text, text, text, text, jsonb, jsonb)

CREATE FUNCTION public.vigil_audit(context jsonb, action text, object_kind text, object_id text, object_name text, before jsonb, after jsonb) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO audit_log (actor, actor_kind, address, via, action, object_kind, object_id,
                           object_name, before, after)
    VALUES (coalesce(context->>'actor', 'unknown'), coalesce(context->>'actor_kind', 'system'),
            context->>'address', context->>'via', action, object_kind, object_id, object_name,
            before, after)
$$;


-- FUNCTION: vigil_audit_mask(text, jsonb)

CREATE FUNCTION public.vigil_audit_mask(object_kind text, r jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    AS $$
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


-- FUNCTION: vigil_audit_row()

CREATE FUNCTION public.vigil_audit_row() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


-- FUNCTION: vigil_auth_changed()

CREATE FUNCTION public.vigil_auth_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('vigil_auth', '');
    RETURN NULL;
END $$;


-- FUNCTION: vigil_buckets_add(integer[], integer[], integer)

CREATE FUNCTION public.vigil_buckets_add(a integer[], b integer[], sign integer DEFAULT 1) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT ARRAY[a[1] + sign * b[1], a[2] + sign * b[2], a[3] + sign * b[3], a[4] + sign * b[4],
                 a[5] + sign * b[5], a[6] + sign * b[6], a[7] + sign * b[7], a[8] + sign * b[8],
                 a[9] + sign * b[9], a[10] + sign * b[10], a[11] + sign * b[11], a[12] + sign * b[12],
                 a[13] + sign * b[13], a[14] + sign * b[14], a[15] + sign * b[15], a[16] + sign * b[16],
                 a[17] + sign * b[17]]
$$;


-- FUNCTION: vigil_delivery_blocked(text, bigint, bigint)

CREATE FUNCTION public.vigil_delivery_blocked(kind text, incident bigint, channel bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1
          FROM deliveries f
          LEFT JOIN deliveries g ON g.id = f.digest_id
         WHERE f.incident_id = incident AND f.channel_id = channel
           AND (f.event_kind = 'firing' OR (kind = 'resolved' AND f.event_kind = 'reminder'))
           AND (f.status IN ('pending', 'sending') OR g.status IN ('pending', 'sending')));
END $$;


-- FUNCTION: vigil_dependencies_lock_key()

CREATE FUNCTION public.vigil_dependencies_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT 7236003::bigint$$;


-- FUNCTION: vigil_drop_old_check_partitions(integer)

CREATE FUNCTION public.vigil_drop_old_check_partitions(keep_days integer) RETURNS integer
    LANGUAGE plpgsql
    AS $_$
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
END $_$;


-- FUNCTION: vigil_ensure_check_partitions(integer, integer)

CREATE FUNCTION public.vigil_ensure_check_partitions(days_back integer, days_ahead integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    day date;
    part text;
    created integer := 0;
BEGIN
    FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - days_back,
                                      (now() AT TIME ZONE 'UTC')::date + days_ahead,
                                      interval '1 day')::date
    LOOP
        part := 'checks_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF checks FOR VALUES FROM (%L) TO (%L)',
                part, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;


-- FUNCTION: vigil_incidents_alert()

CREATE FUNCTION public.vigil_incidents_alert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    t targets;
BEGIN
    SELECT * INTO t FROM targets WHERE id = NEW.target_id;
    IF TG_OP = 'INSERT' THEN
        PERFORM vigil_alert_firing(t, NEW);
    END IF;
    IF NEW.ended_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.ended_at IS NULL) THEN
        PERFORM vigil_alert_resolved(t, NEW);
    END IF;
    -- One notification per transaction: PostgreSQL folds identical ones.
    PERFORM pg_notify('vigil_alerts', '');
    RETURN NULL;
END $$;


-- FUNCTION: vigil_latency_bucket_count()

CREATE FUNCTION public.vigil_latency_bucket_count() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT 17$$;


-- FUNCTION: vigil_maintenance_at(timestamp with time zone)

CREATE FUNCTION public.vigil_maintenance_at(at timestamp with time zone) RETURNS TABLE(target_id bigint, window_id bigint, window_name text, starts_at timestamp with time zone, ends_at timestamp with time zone, include_in_uptime boolean)
    LANGUAGE sql STABLE
    AS $$
    SELECT DISTINCT ON (c.target_id) c.target_id, w.id, w.name, o.starts_at, o.ends_at,
           w.include_in_uptime
      FROM maintenance_occurrences o
      JOIN maintenance_windows w ON w.id = o.window_id
     CROSS JOIN LATERAL (
           SELECT mt.target_id FROM maintenance_window_targets mt WHERE mt.window_id = w.id
            UNION
           SELECT t.id FROM targets t
            WHERE w.match_labels <> '{}' AND t.labels @> w.match_labels) AS c
     WHERE o.ends_at > at AND o.starts_at <= at
     ORDER BY c.target_id, o.ends_at DESC, w.id
$$;


-- FUNCTION: vigil_maintenance_excluded_s(bigint, timestamp with time zone, timestamp with time zone)

CREATE FUNCTION public.vigil_maintenance_excluded_s(target bigint, since timestamp with time zone, until timestamp with time zone) RETURNS double precision
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)::double precision
      FROM unnest((
            SELECT range_agg(tstzrange(greatest(o.starts_at, since), least(o.ends_at, until)))
              FROM maintenance_occurrences o
              JOIN maintenance_windows w ON w.id = o.window_id AND NOT w.include_in_uptime
              JOIN targets t ON t.id = target
             WHERE o.ends_at > since AND o.starts_at < until
               AND (EXISTS (SELECT 1 FROM maintenance_window_targets mt
                             WHERE mt.window_id = w.id AND mt.target_id = t.id)
                    OR (w.match_labels <> '{}' AND t.labels @> w.match_labels)))) AS r
$$;


-- FUNCTION: vigil_maintenance_lock_key()

CREATE FUNCTION public.vigil_maintenance_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT 7236002::bigint$$;


-- FUNCTION: vigil_maintenance_notify()

CREATE FUNCTION public.vigil_maintenance_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('vigil_maintenance', '');
    RETURN NULL;
END $$;


-- FUNCTION: vigil_mask_address(text)

CREATE FUNCTION public.vigil_mask_address(address text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT regexp_replace(address, '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*):[^/?#@]+@',
                                '\1:********@') $$;


-- FUNCTION: vigil_partitions_lock_key()

CREATE FUNCTION public.vigil_partitions_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$SELECT 7236001::bigint$$;


-- FUNCTION: vigil_push_grace_s(jsonb)

CREATE FUNCTION public.vigil_push_grace_s(settings jsonb) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce((settings->>'grace_s')::double precision, 60) $$;


-- FUNCTION: vigil_push_new_token()

CREATE FUNCTION public.vigil_push_new_token() RETURNS text
    LANGUAGE sql
    AS $$ SELECT encode(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())), 'hex') $$;


-- FUNCTION: vigil_push_token_sync()

CREATE FUNCTION public.vigil_push_token_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.kind = 'push' THEN
        INSERT INTO push_tokens (target_id, token) VALUES (NEW.id, vigil_push_new_token())
        ON CONFLICT (target_id) DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND OLD.kind = 'push' THEN
        DELETE FROM push_tokens WHERE target_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;


-- FUNCTION: vigil_rollups_daily_rebuild(date, date)

CREATE FUNCTION public.vigil_rollups_daily_rebuild(since date, until date) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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


-- FUNCTION: vigil_rollups_daily_sync()

CREATE FUNCTION public.vigil_rollups_daily_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


-- FUNCTION: vigil_rollups_hourly_add(anyarray)

CREATE FUNCTION public.vigil_rollups_hourly_add(hours anyarray) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO check_rollups_hourly AS r (target_id, hour, checks, ok, latency_sum_ms,
                                           latency_max_ms, latency_count, latency_buckets)
    SELECT h.target_id, h.hour, h.checks, h.ok, h.latency_sum_ms, h.latency_max_ms,
           h.latency_count, h.latency_buckets::integer[]
      FROM unnest(hours) AS h
     ORDER BY h.target_id, h.hour
    ON CONFLICT (target_id, hour) DO UPDATE SET
        checks          = r.checks + EXCLUDED.checks,
        ok              = r.ok + EXCLUDED.ok,
        latency_sum_ms  = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
        latency_max_ms  = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
        latency_count   = r.latency_count + EXCLUDED.latency_count,
        latency_buckets = vigil_buckets_add(r.latency_buckets, EXCLUDED.latency_buckets)
$$;


-- FUNCTION: vigil_target_status(boolean, text)

CREATE FUNCTION public.vigil_target_status(target_enabled boolean, stored_status text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN target_enabled THEN stored_status ELSE 'paused' END $$;


-- FUNCTION: vigil_target_status(boolean, text, boolean)

CREATE FUNCTION public.vigil_target_status(target_enabled boolean, stored_status text, in_maintenance boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN NOT target_enabled THEN 'paused'
                  WHEN in_maintenance THEN 'maintenance'
                  ELSE stored_status END $$;


-- FUNCTION: vigil_target_window(bigint, jsonb, timestamp with time zone)

CREATE FUNCTION public.vigil_target_window(target bigint, labels jsonb, at timestamp with time zone) RETURNS TABLE(window_id bigint, window_name text, starts_at timestamp with time zone, ends_at timestamp with time zone, include_in_uptime boolean)
    LANGUAGE sql STABLE
    AS $$
    SELECT w.id, w.name, o.starts_at, o.ends_at, w.include_in_uptime
      FROM maintenance_occurrences o
      JOIN maintenance_windows w ON w.id = o.window_id
     WHERE o.ends_at > at AND o.starts_at <= at
       AND (EXISTS (SELECT 1 FROM maintenance_window_targets mt
                     WHERE mt.window_id = w.id AND mt.target_id = target)
            OR (w.match_labels <> '{}' AND labels @> w.match_labels))
     ORDER BY o.ends_at DESC, w.id
     LIMIT 1
$$;


-- FUNCTION: vigil_targets_notify()

CREATE FUNCTION public.vigil_targets_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('vigil_targets', json_build_object(
        'op', lower(TG_OP),
        'id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
    RETURN NULL;
END $$;


-- FUNCTION: vigil_targets_spread()

CREATE FUNCTION public.vigil_targets_spread() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


-- FUNCTION: vigil_targets_spread_rows(bigint[])

CREATE FUNCTION public.vigil_targets_spread_rows(ids bigint[]) RETURNS void
    LANGUAGE sql
    AS $$
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


-- FUNCTION: vigil_targets_sync()

CREATE FUNCTION public.vigil_targets_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


-- TABLE: alert_events

CREATE TABLE public.alert_events (
    id bigint NOT NULL,
    kind text NOT NULL,
    target_id bigint,
    incident_id bigint,
    route_id bigint,
    seq integer,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    payload jsonb NOT NULL,
    CONSTRAINT alert_events_incident_present CHECK (((kind = 'test'::text) OR ((incident_id IS NOT NULL) AND (target_id IS NOT NULL)))),
    CONSTRAINT alert_events_kind_valid CHECK ((kind = ANY (ARRAY['firing'::text, 'resolved'::text, 'reminder'::text, 'test'::text]))),
    CONSTRAINT alert_events_reminder_shape CHECK (((kind = 'reminder'::text) = ((route_id IS NOT NULL) AND (seq IS NOT NULL))))
);


-- SEQUENCE: alert_events_id_seq

ALTER TABLE public.alert_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.alert_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: api_tokens

CREATE TABLE public.api_tokens (
    id bigint NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    hash bytea NOT NULL,
    scope text NOT NULL,
    created_by text NOT NULL,
    created_by_user_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_tokens_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 100)) AND (name = btrim(name)))),
    CONSTRAINT api_tokens_scope_valid CHECK ((scope = ANY (ARRAY['read'::text, 'write'::text, 'admin'::text])))
);


-- SEQUENCE: api_tokens_id_seq

ALTER TABLE public.api_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: audit_log

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
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
    CONSTRAINT audit_log_actor_kind_valid CHECK ((actor_kind = ANY (ARRAY['user'::text, 'token'::text, 'cli'::text, 'system'::text, 'anonymous'::text])))
);


-- SEQUENCE: audit_log_id_seq

ALTER TABLE public.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: channels

CREATE TABLE public.channels (
    id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    broken_at timestamp with time zone,
    broken_reason text,
    last_error text,
    last_error_at timestamp with time zone,
    last_sent_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT channels_config_object CHECK ((jsonb_typeof(config) = 'object'::text)),
    CONSTRAINT channels_kind_valid CHECK ((kind = ANY (ARRAY['webhook'::text, 'slack'::text, 'discord'::text, 'teams'::text, 'telegram'::text, 'ntfy'::text, 'pagerduty'::text, 'email'::text, 'apprise'::text]))),
    CONSTRAINT channels_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 200)) AND (name = btrim(name))))
);


-- SEQUENCE: channels_id_seq

ALTER TABLE public.channels ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.channels_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: check_rollups_hourly

CREATE TABLE public.check_rollups_hourly (
    target_id bigint NOT NULL,
    hour timestamp with time zone NOT NULL,
    checks integer DEFAULT 0 NOT NULL,
    ok integer DEFAULT 0 NOT NULL,
    latency_sum_ms double precision DEFAULT 0 NOT NULL,
    latency_max_ms real DEFAULT 0 NOT NULL,
    latency_count integer DEFAULT 0 NOT NULL,
    latency_buckets integer[] NOT NULL,
    CONSTRAINT check_rollups_counts_valid CHECK ((((ok >= 0) AND (ok <= checks)) AND ((latency_count >= 0) AND (latency_count <= checks)))),
    CONSTRAINT check_rollups_hour_aligned CHECK ((hour = (date_trunc('hour'::text, (hour AT TIME ZONE 'UTC'::text)) AT TIME ZONE 'UTC'::text)))
);


-- TABLE: target_state

CREATE TABLE public.target_state (
    target_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    since timestamp with time zone DEFAULT now() NOT NULL,
    consecutive_ok integer DEFAULT 0 NOT NULL,
    consecutive_fail integer DEFAULT 0 NOT NULL,
    last_checked_at timestamp with time zone,
    last_ok boolean,
    last_latency_ms real,
    last_status_code smallint,
    last_error_class text,
    last_error_message text,
    tls_expires_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    cur_hour timestamp with time zone,
    cur_checks integer DEFAULT 0 NOT NULL,
    cur_ok integer DEFAULT 0 NOT NULL,
    cur_latency_sum_ms double precision DEFAULT 0 NOT NULL,
    cur_latency_max_ms real DEFAULT 0 NOT NULL,
    cur_latency_count integer DEFAULT 0 NOT NULL,
    cur_latency_buckets integer[],
    CONSTRAINT target_state_counts_valid CHECK (((consecutive_ok >= 0) AND (consecutive_fail >= 0))),
    CONSTRAINT target_state_cur_counts_valid CHECK ((((cur_ok >= 0) AND (cur_ok <= cur_checks)) AND ((cur_latency_count >= 0) AND (cur_latency_count <= cur_checks)))),
    CONSTRAINT target_state_cur_hour_aligned CHECK ((cur_hour = (date_trunc('hour'::text, (cur_hour AT TIME ZONE 'UTC'::text)) AT TIME ZONE 'UTC'::text))),
    CONSTRAINT target_state_status_valid CHECK ((status = ANY (ARRAY['up'::text, 'down'::text, 'pending'::text, 'paused'::text])))
)
WITH (fillfactor='50');


-- VIEW: check_rollups

CREATE VIEW public.check_rollups AS
 SELECT check_rollups_hourly.target_id,
    check_rollups_hourly.hour,
    check_rollups_hourly.checks,
    check_rollups_hourly.ok,
    check_rollups_hourly.latency_sum_ms,
    check_rollups_hourly.latency_max_ms,
    check_rollups_hourly.latency_count,
    check_rollups_hourly.latency_buckets
   FROM public.check_rollups_hourly
UNION ALL
 SELECT target_state.target_id,
    target_state.cur_hour AS hour,
    target_state.cur_checks AS checks,
    target_state.cur_ok AS ok,
    target_state.cur_latency_sum_ms AS latency_sum_ms,
    target_state.cur_latency_max_ms AS latency_max_ms,
    target_state.cur_latency_count AS latency_count,
    target_state.cur_latency_buckets AS latency_buckets
   FROM public.target_state
  WHERE (target_state.cur_hour IS NOT NULL);


-- VIEW: check_rollups_current

CREATE VIEW public.check_rollups_current AS
 SELECT target_id,
    cur_hour AS hour,
    cur_checks AS checks,
    cur_ok AS ok,
    cur_latency_sum_ms AS latency_sum_ms,
    cur_latency_max_ms AS latency_max_ms,
    cur_latency_count AS latency_count,
    cur_latency_buckets AS latency_buckets
   FROM public.target_state
  WHERE (cur_hour IS NOT NULL);


-- TABLE: check_rollups_daily

CREATE TABLE public.check_rollups_daily (
    target_id bigint NOT NULL,
    day date NOT NULL,
    checks integer DEFAULT 0 NOT NULL,
    ok integer DEFAULT 0 NOT NULL,
    latency_sum_ms double precision DEFAULT 0 NOT NULL,
    latency_max_ms real DEFAULT 0 NOT NULL,
    latency_count integer DEFAULT 0 NOT NULL,
    latency_buckets integer[] NOT NULL,
    CONSTRAINT check_rollups_daily_counts_valid CHECK ((((ok >= 0) AND (ok <= checks)) AND ((latency_count >= 0) AND (latency_count <= checks))))
);


-- VIEW: check_rollups_days

CREATE VIEW public.check_rollups_days AS
 SELECT check_rollups_daily.target_id,
    check_rollups_daily.day,
    check_rollups_daily.checks,
    check_rollups_daily.ok,
    check_rollups_daily.latency_sum_ms,
    check_rollups_daily.latency_max_ms,
    check_rollups_daily.latency_count,
    check_rollups_daily.latency_buckets
   FROM public.check_rollups_daily
UNION ALL
 SELECT target_state.target_id,
    ((target_state.cur_hour AT TIME ZONE 'UTC'::text))::date AS day,
    target_state.cur_checks AS checks,
    target_state.cur_ok AS ok,
    target_state.cur_latency_sum_ms AS latency_sum_ms,
    target_state.cur_latency_max_ms AS latency_max_ms,
    target_state.cur_latency_count AS latency_count,
    target_state.cur_latency_buckets AS latency_buckets
   FROM public.target_state
  WHERE (target_state.cur_hour IS NOT NULL);


-- TABLE: checks

CREATE TABLE public.checks (
    target_id bigint NOT NULL,
    checked_at timestamp with time zone NOT NULL,
    due_at timestamp with time zone,
    ok boolean NOT NULL,
    latency_ms real,
    status_code smallint,
    error_class text,
    error_message text,
    timings jsonb,
    details jsonb,
    maintenance_window_id bigint,
    CONSTRAINT checks_details_object CHECK (((details IS NULL) OR (jsonb_typeof(details) = 'object'::text))),
    CONSTRAINT checks_error_class_when_failed CHECK ((ok OR (error_class IS NOT NULL))),
    CONSTRAINT checks_latency_valid CHECK (((latency_ms IS NULL) OR (latency_ms >= (0)::double precision)))
)
PARTITION BY RANGE (checked_at);


-- TABLE: deliveries

CREATE TABLE public.deliveries (
    id bigint NOT NULL,
    event_id bigint,
    channel_id bigint NOT NULL,
    route_id bigint,
    target_id bigint,
    incident_id bigint,
    event_kind text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    send_resolved boolean DEFAULT true NOT NULL,
    summary boolean DEFAULT false NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_until timestamp with time zone,
    leased_by text,
    sent_at timestamp with time zone,
    finished_at timestamp with time zone,
    last_error text,
    last_status integer,
    digest_id bigint,
    maintenance_window_id bigint,
    released_at timestamp with time zone,
    CONSTRAINT deliveries_event_kind_valid CHECK ((event_kind = ANY (ARRAY['firing'::text, 'resolved'::text, 'reminder'::text, 'test'::text, 'digest'::text]))),
    CONSTRAINT deliveries_event_present CHECK (((event_kind = 'digest'::text) = (event_id IS NULL))),
    CONSTRAINT deliveries_status_valid CHECK ((status = ANY (ARRAY['pending'::text, 'sending'::text, 'sent'::text, 'failed'::text, 'suppressed'::text, 'collapsed'::text])))
);


-- SEQUENCE: deliveries_id_seq

ALTER TABLE public.deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: incident_updates

CREATE TABLE public.incident_updates (
    id bigint NOT NULL,
    incident_id bigint NOT NULL,
    status text NOT NULL,
    message text NOT NULL,
    author text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT incident_updates_message_valid CHECK ((((char_length(message) >= 1) AND (char_length(message) <= 5000)) AND (message = btrim(message)))),
    CONSTRAINT incident_updates_status_valid CHECK ((status = ANY (ARRAY['investigating'::text, 'identified'::text, 'monitoring'::text, 'resolved'::text])))
);


-- SEQUENCE: incident_updates_id_seq

ALTER TABLE public.incident_updates ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.incident_updates_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- SEQUENCE: incidents_id_seq

ALTER TABLE public.incidents ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.incidents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: login_failures

CREATE TABLE public.login_failures (
    at timestamp with time zone DEFAULT now() NOT NULL,
    username text NOT NULL,
    address text NOT NULL
);


-- TABLE: maintenance_occurrences

CREATE TABLE public.maintenance_occurrences (
    window_id bigint NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    ended_early boolean DEFAULT false NOT NULL,
    CONSTRAINT maintenance_occurrences_end_after_start CHECK ((ends_at > starts_at))
);


-- TABLE: maintenance_window_targets

CREATE TABLE public.maintenance_window_targets (
    window_id bigint NOT NULL,
    target_id bigint NOT NULL
);


-- TABLE: maintenance_windows

CREATE TABLE public.maintenance_windows (
    id bigint NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    kind text NOT NULL,
    match_labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    starts_at timestamp with time zone,
    ends_at timestamp with time zone,
    days smallint[],
    start_time time without time zone,
    cron text,
    duration_s integer,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    include_in_uptime boolean DEFAULT false NOT NULL,
    planned_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT maintenance_windows_description_valid CHECK ((char_length(description) <= 2000)),
    CONSTRAINT maintenance_windows_kind_valid CHECK ((kind = ANY (ARRAY['once'::text, 'weekly'::text, 'cron'::text]))),
    CONSTRAINT maintenance_windows_match_labels_object CHECK ((jsonb_typeof(match_labels) = 'object'::text)),
    CONSTRAINT maintenance_windows_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 200)) AND (name = btrim(name)))),
    CONSTRAINT maintenance_windows_shape CHECK (
CASE kind
    WHEN 'once'::text THEN ((starts_at IS NOT NULL) AND (ends_at > starts_at) AND ((ends_at - starts_at) <= '366 days'::interval) AND (days IS NULL) AND (start_time IS NULL) AND (cron IS NULL) AND (duration_s IS NULL))
    WHEN 'weekly'::text THEN ((starts_at IS NULL) AND (ends_at IS NULL) AND (cron IS NULL) AND ((cardinality(days) >= 1) AND (cardinality(days) <= 7)) AND (days <@ ARRAY[(1)::smallint, (2)::smallint, (3)::smallint, (4)::smallint, (5)::smallint, (6)::smallint, (7)::smallint]) AND (start_time IS NOT NULL) AND ((duration_s >= 60) AND (duration_s <= 604800)))
    WHEN 'cron'::text THEN ((starts_at IS NULL) AND (ends_at IS NULL) AND (days IS NULL) AND (start_time IS NULL) AND ((char_length(cron) >= 9) AND (char_length(cron) <= 200)) AND ((duration_s >= 60) AND (duration_s <= 604800)))
    ELSE NULL::boolean
END),
    CONSTRAINT maintenance_windows_time_zone_valid CHECK (((char_length(time_zone) >= 1) AND (char_length(time_zone) <= 64)))
);


-- SEQUENCE: maintenance_windows_id_seq

ALTER TABLE public.maintenance_windows ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.maintenance_windows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: push_pings

CREATE TABLE public.push_pings (
    id bigint NOT NULL,
    target_id bigint NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    ok boolean NOT NULL,
    message text,
    duration_ms double precision,
    CONSTRAINT push_pings_duration_valid CHECK (((duration_ms >= (0)::double precision) AND (duration_ms <= (604800000)::double precision))),
    CONSTRAINT push_pings_message_valid CHECK ((char_length(message) <= 500))
);


-- SEQUENCE: push_pings_id_seq

ALTER TABLE public.push_pings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.push_pings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: push_tokens

CREATE TABLE public.push_tokens (
    target_id bigint NOT NULL,
    token text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT push_tokens_token_valid CHECK ((token ~ '^[0-9a-f]{64}$'::text))
);


-- TABLE: route_channels

CREATE TABLE public.route_channels (
    route_id bigint NOT NULL,
    channel_id bigint NOT NULL,
    "position" integer DEFAULT 0 NOT NULL
);


-- TABLE: routes

CREATE TABLE public.routes (
    id bigint NOT NULL,
    name text NOT NULL,
    match_labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    send_resolved boolean DEFAULT true NOT NULL,
    delay_s integer DEFAULT 0 NOT NULL,
    short_outage text DEFAULT 'silent'::text NOT NULL,
    repeat_interval_s integer,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT routes_delay_valid CHECK (((delay_s >= 0) AND (delay_s <= 86400))),
    CONSTRAINT routes_match_labels_object CHECK ((jsonb_typeof(match_labels) = 'object'::text)),
    CONSTRAINT routes_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 200)) AND (name = btrim(name)))),
    CONSTRAINT routes_repeat_valid CHECK (((repeat_interval_s IS NULL) OR ((repeat_interval_s >= 60) AND (repeat_interval_s <= 2592000)))),
    CONSTRAINT routes_short_outage_valid CHECK ((short_outage = ANY (ARRAY['silent'::text, 'summary'::text])))
);


-- SEQUENCE: routes_id_seq

ALTER TABLE public.routes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.routes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: schedule

CREATE TABLE public.schedule (
    target_id bigint NOT NULL,
    anchor_at timestamp with time zone NOT NULL,
    next_check_at timestamp with time zone NOT NULL
);


-- TABLE: sessions

CREATE TABLE public.sessions (
    id bigint NOT NULL,
    hash bytea NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    address text,
    user_agent text
);


-- SEQUENCE: sessions_id_seq

ALTER TABLE public.sessions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: status_page_groups

CREATE TABLE public.status_page_groups (
    id bigint NOT NULL,
    page_id bigint NOT NULL,
    "position" integer NOT NULL,
    name text NOT NULL,
    CONSTRAINT status_page_groups_name_valid CHECK ((((char_length(name) >= 1) AND (char_length(name) <= 200)) AND (name = btrim(name))))
);


-- SEQUENCE: status_page_groups_id_seq

ALTER TABLE public.status_page_groups ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.status_page_groups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: status_page_targets

CREATE TABLE public.status_page_targets (
    group_id bigint NOT NULL,
    target_id bigint NOT NULL,
    "position" integer NOT NULL,
    display_name text NOT NULL,
    CONSTRAINT status_page_targets_display_name_valid CHECK ((((char_length(display_name) >= 1) AND (char_length(display_name) <= 200)) AND (display_name = btrim(display_name))))
);


-- TABLE: status_pages

CREATE TABLE public.status_pages (
    id bigint NOT NULL,
    slug text NOT NULL,
    title text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    logo_url text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT status_pages_description_valid CHECK ((char_length(description) <= 5000)),
    CONSTRAINT status_pages_logo_url_valid CHECK (((logo_url IS NULL) OR ((logo_url ~* '^https?://[^\s]+$'::text) AND (char_length(logo_url) <= 2048)))),
    CONSTRAINT status_pages_slug_valid CHECK ((slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'::text)),
    CONSTRAINT status_pages_title_valid CHECK ((((char_length(title) >= 1) AND (char_length(title) <= 200)) AND (title = btrim(title))))
);


-- SEQUENCE: status_pages_id_seq

ALTER TABLE public.status_pages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.status_pages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: target_dependencies

CREATE TABLE public.target_dependencies (
    target_id bigint NOT NULL,
    depends_on_id bigint NOT NULL,
    CONSTRAINT target_dependencies_not_self CHECK ((target_id <> depends_on_id))
);


-- VIEW: target_maintenance

CREATE VIEW public.target_maintenance AS
 SELECT target_id,
    window_id,
    window_name,
    starts_at,
    ends_at,
    include_in_uptime
   FROM public.vigil_maintenance_at(now()) vigil_maintenance_at(target_id, window_id, window_name, starts_at, ends_at, include_in_uptime);


-- SEQUENCE: targets_id_seq

ALTER TABLE public.targets ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.targets_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- TABLE: users

CREATE TABLE public.users (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    last_login_at timestamp with time zone,
    CONSTRAINT users_name_valid CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'::text)),
    CONSTRAINT users_role_valid CHECK ((role = ANY (ARRAY['viewer'::text, 'editor'::text, 'admin'::text])))
);


-- SEQUENCE: users_id_seq

ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


-- CONSTRAINT: alert_events alert_events_pkey

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_pkey PRIMARY KEY (id);


-- CONSTRAINT: api_tokens api_tokens_hash_key

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_hash_key UNIQUE (hash);


-- CONSTRAINT: api_tokens api_tokens_pkey

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);


-- CONSTRAINT: audit_log audit_log_pkey

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


-- CONSTRAINT: channels channels_name_key

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_name_key UNIQUE (name);


-- CONSTRAINT: channels channels_pkey

ALTER TABLE ONLY public.channels
    ADD CONSTRAINT channels_pkey PRIMARY KEY (id);


-- CONSTRAINT: check_rollups_daily check_rollups_daily_pkey

ALTER TABLE ONLY public.check_rollups_daily
    ADD CONSTRAINT check_rollups_daily_pkey PRIMARY KEY (target_id, day);


-- CONSTRAINT: check_rollups_hourly check_rollups_hourly_pkey

ALTER TABLE ONLY public.check_rollups_hourly
    ADD CONSTRAINT check_rollups_hourly_pkey PRIMARY KEY (target_id, hour);


-- CONSTRAINT: deliveries deliveries_once

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_once UNIQUE (event_id, channel_id);


-- CONSTRAINT: deliveries deliveries_pkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);


-- CONSTRAINT: incident_updates incident_updates_pkey

ALTER TABLE ONLY public.incident_updates
    ADD CONSTRAINT incident_updates_pkey PRIMARY KEY (id);


-- CONSTRAINT: incidents incidents_pkey

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_pkey PRIMARY KEY (id);


-- CONSTRAINT: maintenance_occurrences maintenance_occurrences_pkey

ALTER TABLE ONLY public.maintenance_occurrences
    ADD CONSTRAINT maintenance_occurrences_pkey PRIMARY KEY (window_id, starts_at);


-- CONSTRAINT: maintenance_window_targets maintenance_window_targets_pkey

ALTER TABLE ONLY public.maintenance_window_targets
    ADD CONSTRAINT maintenance_window_targets_pkey PRIMARY KEY (window_id, target_id);


-- CONSTRAINT: maintenance_windows maintenance_windows_name_key

ALTER TABLE ONLY public.maintenance_windows
    ADD CONSTRAINT maintenance_windows_name_key UNIQUE (name);


-- CONSTRAINT: maintenance_windows maintenance_windows_pkey

ALTER TABLE ONLY public.maintenance_windows
    ADD CONSTRAINT maintenance_windows_pkey PRIMARY KEY (id);


-- CONSTRAINT: push_pings push_pings_pkey

ALTER TABLE ONLY public.push_pings
    ADD CONSTRAINT push_pings_pkey PRIMARY KEY (id);


-- CONSTRAINT: push_tokens push_tokens_pkey

ALTER TABLE ONLY public.push_tokens
    ADD CONSTRAINT push_tokens_pkey PRIMARY KEY (target_id);


-- CONSTRAINT: push_tokens push_tokens_token_key

ALTER TABLE ONLY public.push_tokens
    ADD CONSTRAINT push_tokens_token_key UNIQUE (token);


-- CONSTRAINT: route_channels route_channels_pkey

ALTER TABLE ONLY public.route_channels
    ADD CONSTRAINT route_channels_pkey PRIMARY KEY (route_id, channel_id);


-- CONSTRAINT: routes routes_name_key

ALTER TABLE ONLY public.routes
    ADD CONSTRAINT routes_name_key UNIQUE (name);


-- CONSTRAINT: routes routes_pkey

ALTER TABLE ONLY public.routes
    ADD CONSTRAINT routes_pkey PRIMARY KEY (id);


-- CONSTRAINT: schedule schedule_pkey

ALTER TABLE ONLY public.schedule
    ADD CONSTRAINT schedule_pkey PRIMARY KEY (target_id);


-- CONSTRAINT: sessions sessions_hash_key

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_hash_key UNIQUE (hash);


-- CONSTRAINT: sessions sessions_pkey

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


-- CONSTRAINT: status_page_groups status_page_groups_page_id_position_key

ALTER TABLE ONLY public.status_page_groups
    ADD CONSTRAINT status_page_groups_page_id_position_key UNIQUE (page_id, "position");


-- CONSTRAINT: status_page_groups status_page_groups_pkey

ALTER TABLE ONLY public.status_page_groups
    ADD CONSTRAINT status_page_groups_pkey PRIMARY KEY (id);


-- CONSTRAINT: status_page_targets status_page_targets_group_id_position_key

ALTER TABLE ONLY public.status_page_targets
    ADD CONSTRAINT status_page_targets_group_id_position_key UNIQUE (group_id, "position");


-- CONSTRAINT: status_page_targets status_page_targets_pkey

ALTER TABLE ONLY public.status_page_targets
    ADD CONSTRAINT status_page_targets_pkey PRIMARY KEY (group_id, target_id);


-- CONSTRAINT: status_pages status_pages_pkey

ALTER TABLE ONLY public.status_pages
    ADD CONSTRAINT status_pages_pkey PRIMARY KEY (id);


-- CONSTRAINT: status_pages status_pages_slug_key

ALTER TABLE ONLY public.status_pages
    ADD CONSTRAINT status_pages_slug_key UNIQUE (slug);


-- CONSTRAINT: target_dependencies target_dependencies_pkey

ALTER TABLE ONLY public.target_dependencies
    ADD CONSTRAINT target_dependencies_pkey PRIMARY KEY (target_id, depends_on_id);


-- CONSTRAINT: target_state target_state_pkey

ALTER TABLE ONLY public.target_state
    ADD CONSTRAINT target_state_pkey PRIMARY KEY (target_id);


-- CONSTRAINT: targets targets_name_unique

ALTER TABLE ONLY public.targets
    ADD CONSTRAINT targets_name_unique UNIQUE (name);


-- CONSTRAINT: targets targets_pkey

ALTER TABLE ONLY public.targets
    ADD CONSTRAINT targets_pkey PRIMARY KEY (id);


-- CONSTRAINT: users users_name_key

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_name_key UNIQUE (name);


-- CONSTRAINT: users users_pkey

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


-- INDEX: alert_events_once

CREATE UNIQUE INDEX alert_events_once ON public.alert_events USING btree (incident_id, kind) WHERE (kind = ANY (ARRAY['firing'::text, 'resolved'::text]));


-- INDEX: alert_events_reminder_once

CREATE UNIQUE INDEX alert_events_reminder_once ON public.alert_events USING btree (incident_id, route_id, seq) WHERE (kind = 'reminder'::text);


-- INDEX: alert_events_target_idx

CREATE INDEX alert_events_target_idx ON public.alert_events USING btree (target_id, id DESC);


-- INDEX: api_tokens_active_name_idx

CREATE UNIQUE INDEX api_tokens_active_name_idx ON public.api_tokens USING btree (name) WHERE (revoked_at IS NULL);


-- INDEX: audit_log_actor_idx

CREATE INDEX audit_log_actor_idx ON public.audit_log USING btree (actor, id DESC);


-- INDEX: audit_log_at_idx

CREATE INDEX audit_log_at_idx ON public.audit_log USING btree (at DESC, id DESC);


-- INDEX: audit_log_object_idx

CREATE INDEX audit_log_object_idx ON public.audit_log USING btree (object_kind, object_id, id DESC);


-- INDEX: checks_target_time_key

CREATE UNIQUE INDEX checks_target_time_key ON ONLY public.checks USING btree (target_id, checked_at DESC, due_at);


-- INDEX: deliveries_channel_idx

CREATE INDEX deliveries_channel_idx ON public.deliveries USING btree (channel_id, id DESC);


-- INDEX: deliveries_digest_idx

CREATE INDEX deliveries_digest_idx ON public.deliveries USING btree (digest_id) WHERE (digest_id IS NOT NULL);


-- INDEX: deliveries_digest_latest_idx

CREATE INDEX deliveries_digest_latest_idx ON public.deliveries USING btree (channel_id, created_at DESC) WHERE (event_kind = 'digest'::text);


-- INDEX: deliveries_due_idx

CREATE INDEX deliveries_due_idx ON public.deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);


-- INDEX: deliveries_held_idx

CREATE INDEX deliveries_held_idx ON public.deliveries USING btree (incident_id) WHERE ((status = 'suppressed'::text) AND (maintenance_window_id IS NOT NULL));


-- INDEX: deliveries_incident_idx

CREATE INDEX deliveries_incident_idx ON public.deliveries USING btree (incident_id, channel_id);


-- INDEX: deliveries_lease_idx

CREATE INDEX deliveries_lease_idx ON public.deliveries USING btree (lease_until) WHERE (status = 'sending'::text);


-- INDEX: deliveries_target_idx

CREATE INDEX deliveries_target_idx ON public.deliveries USING btree (target_id, id DESC);


-- INDEX: incident_updates_incident_idx

CREATE INDEX incident_updates_incident_idx ON public.incident_updates USING btree (incident_id, created_at);


-- INDEX: incidents_one_open_per_target

CREATE UNIQUE INDEX incidents_one_open_per_target ON public.incidents USING btree (target_id) WHERE (ended_at IS NULL);


-- INDEX: incidents_started_idx

CREATE INDEX incidents_started_idx ON public.incidents USING btree (started_at DESC);


-- INDEX: incidents_target_started_idx

CREATE INDEX incidents_target_started_idx ON public.incidents USING btree (target_id, started_at DESC);


-- INDEX: login_failures_address_idx

CREATE INDEX login_failures_address_idx ON public.login_failures USING btree (address, at);


-- INDEX: login_failures_username_idx

CREATE INDEX login_failures_username_idx ON public.login_failures USING btree (username, at);


-- INDEX: maintenance_occurrences_ends_idx

CREATE INDEX maintenance_occurrences_ends_idx ON public.maintenance_occurrences USING btree (ends_at, starts_at);


-- INDEX: maintenance_window_targets_target_idx

CREATE INDEX maintenance_window_targets_target_idx ON public.maintenance_window_targets USING btree (target_id);


-- INDEX: route_channels_channel_idx

CREATE INDEX route_channels_channel_idx ON public.route_channels USING btree (channel_id);


-- INDEX: schedule_next_check_at_idx

CREATE INDEX schedule_next_check_at_idx ON public.schedule USING btree (next_check_at);


-- INDEX: sessions_expires_idx

CREATE INDEX sessions_expires_idx ON public.sessions USING btree (expires_at);


-- INDEX: sessions_user_idx

CREATE INDEX sessions_user_idx ON public.sessions USING btree (user_id);


-- INDEX: status_page_targets_target_idx

CREATE INDEX status_page_targets_target_idx ON public.status_page_targets USING btree (target_id);


-- INDEX: target_dependencies_parent_idx

CREATE INDEX target_dependencies_parent_idx ON public.target_dependencies USING btree (depends_on_id);


-- INDEX: target_state_status_idx

CREATE INDEX target_state_status_idx ON public.target_state USING btree (status);


-- INDEX: targets_disabled_idx

CREATE INDEX targets_disabled_idx ON public.targets USING btree (id) WHERE (NOT enabled);


-- INDEX: targets_labels_idx

CREATE INDEX targets_labels_idx ON public.targets USING gin (labels jsonb_path_ops);


-- TRIGGER: api_tokens api_tokens_audit

CREATE TRIGGER api_tokens_audit AFTER INSERT OR DELETE OR UPDATE ON public.api_tokens FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('token');


-- TRIGGER: api_tokens api_tokens_auth_changed

CREATE TRIGGER api_tokens_auth_changed AFTER DELETE OR UPDATE OF revoked_at, scope, expires_at ON public.api_tokens FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_auth_changed();


-- TRIGGER: channels channels_audit

CREATE TRIGGER channels_audit AFTER INSERT OR DELETE OR UPDATE ON public.channels FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('channel');


-- TRIGGER: check_rollups_hourly check_rollups_daily_sync

CREATE TRIGGER check_rollups_daily_sync AFTER INSERT OR DELETE OR UPDATE ON public.check_rollups_hourly FOR EACH ROW EXECUTE FUNCTION public.vigil_rollups_daily_sync();


-- TRIGGER: deliveries deliveries_audit

CREATE TRIGGER deliveries_audit AFTER INSERT OR UPDATE ON public.deliveries FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('delivery');


-- TRIGGER: incident_updates incident_updates_audit

CREATE TRIGGER incident_updates_audit AFTER INSERT OR DELETE OR UPDATE ON public.incident_updates FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('incident_update');


-- TRIGGER: incidents incidents_alert

CREATE TRIGGER incidents_alert AFTER INSERT OR UPDATE OF ended_at ON public.incidents FOR EACH ROW EXECUTE FUNCTION public.vigil_incidents_alert();


-- TRIGGER: maintenance_occurrences maintenance_occurrences_notify

CREATE TRIGGER maintenance_occurrences_notify AFTER INSERT OR DELETE OR UPDATE ON public.maintenance_occurrences FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_maintenance_notify();


-- TRIGGER: maintenance_window_targets maintenance_window_targets_audit

CREATE TRIGGER maintenance_window_targets_audit AFTER INSERT OR DELETE OR UPDATE ON public.maintenance_window_targets FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('maintenance_window_target');


-- TRIGGER: maintenance_window_targets maintenance_window_targets_notify

CREATE TRIGGER maintenance_window_targets_notify AFTER INSERT OR DELETE OR UPDATE ON public.maintenance_window_targets FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_maintenance_notify();


-- TRIGGER: maintenance_windows maintenance_windows_audit

CREATE TRIGGER maintenance_windows_audit AFTER INSERT OR DELETE OR UPDATE ON public.maintenance_windows FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('maintenance_window');


-- TRIGGER: maintenance_windows maintenance_windows_notify

CREATE TRIGGER maintenance_windows_notify AFTER INSERT OR DELETE OR UPDATE ON public.maintenance_windows FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_maintenance_notify();


-- TRIGGER: push_tokens push_tokens_audit

CREATE TRIGGER push_tokens_audit AFTER INSERT OR DELETE OR UPDATE ON public.push_tokens FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('push_token');


-- TRIGGER: route_channels route_channels_audit

CREATE TRIGGER route_channels_audit AFTER INSERT OR DELETE OR UPDATE ON public.route_channels FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('route_channel');


-- TRIGGER: routes routes_audit

CREATE TRIGGER routes_audit AFTER INSERT OR DELETE OR UPDATE ON public.routes FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('route');


-- TRIGGER: sessions sessions_auth_changed

CREATE TRIGGER sessions_auth_changed AFTER DELETE OR UPDATE OF revoked_at, expires_at ON public.sessions FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_auth_changed();


-- TRIGGER: status_page_groups status_page_groups_audit

CREATE TRIGGER status_page_groups_audit AFTER INSERT OR DELETE OR UPDATE ON public.status_page_groups FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('status_page_group');


-- TRIGGER: status_page_targets status_page_targets_audit

CREATE TRIGGER status_page_targets_audit AFTER INSERT OR DELETE OR UPDATE ON public.status_page_targets FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('status_page_target');


-- TRIGGER: status_pages status_pages_audit

CREATE TRIGGER status_pages_audit AFTER INSERT OR DELETE OR UPDATE ON public.status_pages FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('status_page');


-- TRIGGER: target_dependencies target_dependencies_audit

CREATE TRIGGER target_dependencies_audit AFTER INSERT OR DELETE OR UPDATE ON public.target_dependencies FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('target_dependency');


-- TRIGGER: targets targets_audit

CREATE TRIGGER targets_audit AFTER INSERT OR DELETE OR UPDATE ON public.targets FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('target');


-- TRIGGER: targets targets_notify

CREATE TRIGGER targets_notify AFTER INSERT OR DELETE OR UPDATE ON public.targets FOR EACH ROW EXECUTE FUNCTION public.vigil_targets_notify();


-- TRIGGER: targets targets_push_token

CREATE TRIGGER targets_push_token AFTER INSERT OR UPDATE OF kind ON public.targets FOR EACH ROW EXECUTE FUNCTION public.vigil_push_token_sync();


-- TRIGGER: targets targets_spread_insert

CREATE TRIGGER targets_spread_insert AFTER INSERT ON public.targets REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_targets_spread();


-- TRIGGER: targets targets_spread_update

CREATE TRIGGER targets_spread_update AFTER UPDATE ON public.targets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_targets_spread();


-- TRIGGER: targets targets_sync

CREATE TRIGGER targets_sync AFTER INSERT OR UPDATE ON public.targets FOR EACH ROW EXECUTE FUNCTION public.vigil_targets_sync();


-- TRIGGER: users users_audit

CREATE TRIGGER users_audit AFTER INSERT OR DELETE OR UPDATE ON public.users FOR EACH ROW WHEN ((COALESCE(current_setting('vigil.audit'::text, true), ''::text) <> ''::text)) EXECUTE FUNCTION public.vigil_audit_row('user');


-- TRIGGER: users users_auth_changed

CREATE TRIGGER users_auth_changed AFTER DELETE OR UPDATE OF role, password_hash ON public.users FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_auth_changed();


-- FK CONSTRAINT: alert_events alert_events_incident_id_fkey

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.incidents(id) ON DELETE CASCADE;


-- FK CONSTRAINT: alert_events alert_events_route_id_fkey

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_route_id_fkey FOREIGN KEY (route_id) REFERENCES public.routes(id) ON DELETE CASCADE;


-- FK CONSTRAINT: alert_events alert_events_target_id_fkey

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: api_tokens api_tokens_created_by_user_id_fkey

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_created_by_user_id_fkey FOREIGN KEY (created_by_user_id) REFERENCES public.users(id) ON DELETE CASCADE;


-- FK CONSTRAINT: deliveries deliveries_channel_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES public.channels(id) ON DELETE CASCADE;


-- FK CONSTRAINT: deliveries deliveries_digest_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_digest_id_fkey FOREIGN KEY (digest_id) REFERENCES public.deliveries(id) ON DELETE SET NULL;


-- FK CONSTRAINT: deliveries deliveries_event_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.alert_events(id) ON DELETE CASCADE;


-- FK CONSTRAINT: deliveries deliveries_incident_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.incidents(id) ON DELETE CASCADE;


-- FK CONSTRAINT: deliveries deliveries_route_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_route_id_fkey FOREIGN KEY (route_id) REFERENCES public.routes(id) ON DELETE SET NULL;


-- FK CONSTRAINT: deliveries deliveries_target_id_fkey

ALTER TABLE ONLY public.deliveries
    ADD CONSTRAINT deliveries_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: incident_updates incident_updates_incident_id_fkey

ALTER TABLE ONLY public.incident_updates
    ADD CONSTRAINT incident_updates_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.incidents(id) ON DELETE CASCADE;


-- FK CONSTRAINT: incidents incidents_target_id_fkey

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: maintenance_occurrences maintenance_occurrences_window_id_fkey

ALTER TABLE ONLY public.maintenance_occurrences
    ADD CONSTRAINT maintenance_occurrences_window_id_fkey FOREIGN KEY (window_id) REFERENCES public.maintenance_windows(id) ON DELETE CASCADE;


-- FK CONSTRAINT: maintenance_window_targets maintenance_window_targets_target_id_fkey

ALTER TABLE ONLY public.maintenance_window_targets
    ADD CONSTRAINT maintenance_window_targets_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: maintenance_window_targets maintenance_window_targets_window_id_fkey

ALTER TABLE ONLY public.maintenance_window_targets
    ADD CONSTRAINT maintenance_window_targets_window_id_fkey FOREIGN KEY (window_id) REFERENCES public.maintenance_windows(id) ON DELETE CASCADE;


-- FK CONSTRAINT: push_pings push_pings_target_id_fkey

ALTER TABLE ONLY public.push_pings
    ADD CONSTRAINT push_pings_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: push_tokens push_tokens_target_id_fkey

ALTER TABLE ONLY public.push_tokens
    ADD CONSTRAINT push_tokens_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: route_channels route_channels_channel_id_fkey

ALTER TABLE ONLY public.route_channels
    ADD CONSTRAINT route_channels_channel_id_fkey FOREIGN KEY (channel_id) REFERENCES public.channels(id) ON DELETE CASCADE;


-- FK CONSTRAINT: route_channels route_channels_route_id_fkey

ALTER TABLE ONLY public.route_channels
    ADD CONSTRAINT route_channels_route_id_fkey FOREIGN KEY (route_id) REFERENCES public.routes(id) ON DELETE CASCADE;


-- FK CONSTRAINT: schedule schedule_target_id_fkey

ALTER TABLE ONLY public.schedule
    ADD CONSTRAINT schedule_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: sessions sessions_user_id_fkey

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


-- FK CONSTRAINT: status_page_groups status_page_groups_page_id_fkey

ALTER TABLE ONLY public.status_page_groups
    ADD CONSTRAINT status_page_groups_page_id_fkey FOREIGN KEY (page_id) REFERENCES public.status_pages(id) ON DELETE CASCADE;


-- FK CONSTRAINT: status_page_targets status_page_targets_group_id_fkey

ALTER TABLE ONLY public.status_page_targets
    ADD CONSTRAINT status_page_targets_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.status_page_groups(id) ON DELETE CASCADE;


-- FK CONSTRAINT: status_page_targets status_page_targets_target_id_fkey

ALTER TABLE ONLY public.status_page_targets
    ADD CONSTRAINT status_page_targets_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: target_dependencies target_dependencies_depends_on_id_fkey

ALTER TABLE ONLY public.target_dependencies
    ADD CONSTRAINT target_dependencies_depends_on_id_fkey FOREIGN KEY (depends_on_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: target_dependencies target_dependencies_target_id_fkey

ALTER TABLE ONLY public.target_dependencies
    ADD CONSTRAINT target_dependencies_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;


-- FK CONSTRAINT: target_state target_state_target_id_fkey

ALTER TABLE ONLY public.target_state
    ADD CONSTRAINT target_state_target_id_fkey FOREIGN KEY (target_id) REFERENCES public.targets(id) ON DELETE CASCADE;
