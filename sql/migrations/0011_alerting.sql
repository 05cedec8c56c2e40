-- Alerting: channels, routes, target dependencies, alert events and their deliveries.
--
-- An incident is opened and closed inside the worker's flush transaction (or by pausing a
-- target), and the trigger on `incidents` writes the alert in that same transaction: an
-- alert_events row and one deliveries row per channel its routes reach, then
-- pg_notify('vigil_alerts'). A delivery is an outbox row: the workers' dispatchers claim it
-- with SKIP LOCKED and a lease, send it outside any transaction and mark the outcome.

-- 1. Where alerts go. `config` is the kind's struct of vigil_core.channels (the API validates
--    it); `broken_at` is set when the receiver answered 404/410 and cleared by a change of the
--    channel or a successful send.
CREATE TABLE channels (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL,
    config jsonb NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    broken_at timestamptz,
    broken_reason text,
    last_error text,
    last_error_at timestamptz,
    last_sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channels_name_valid
        CHECK (char_length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    CONSTRAINT channels_kind_valid CHECK (kind IN (
        'webhook', 'slack', 'discord', 'teams', 'telegram', 'ntfy', 'pagerduty', 'email',
        'apprise')),
    CONSTRAINT channels_config_object CHECK (jsonb_typeof(config) = 'object')
);

-- 2. Which targets' events reach which channels: every label of match_labels must equal the
--    target's ({} matches every target). delay_s holds a firing back; an incident that ends
--    within it sends nothing (short_outage 'silent') or one "down from .. to" resolve
--    ('summary'). repeat_interval_s sends reminders while the incident lasts.
CREATE TABLE routes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    match_labels jsonb NOT NULL DEFAULT '{}',
    send_resolved boolean NOT NULL DEFAULT true,
    delay_s integer NOT NULL DEFAULT 0,
    short_outage text NOT NULL DEFAULT 'silent',
    repeat_interval_s integer,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT routes_name_valid
        CHECK (char_length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    CONSTRAINT routes_match_labels_object CHECK (jsonb_typeof(match_labels) = 'object'),
    CONSTRAINT routes_delay_valid CHECK (delay_s BETWEEN 0 AND 86400),
    CONSTRAINT routes_short_outage_valid CHECK (short_outage IN ('silent', 'summary')),
    CONSTRAINT routes_repeat_valid
        CHECK (repeat_interval_s IS NULL OR repeat_interval_s BETWEEN 60 AND 2592000)
);

CREATE TABLE route_channels (
    route_id bigint NOT NULL REFERENCES routes (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    position integer NOT NULL DEFAULT 0,
    PRIMARY KEY (route_id, channel_id)
);
CREATE INDEX route_channels_channel_idx ON route_channels (channel_id);

-- 3. While a target that this one depends on has an open incident, this one's firings are
--    suppressed (recorded, not sent). Checks, incidents and uptime are not affected.
CREATE TABLE target_dependencies (
    target_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    depends_on_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, depends_on_id),
    CONSTRAINT target_dependencies_not_self CHECK (target_id <> depends_on_id)
);
CREATE INDEX target_dependencies_parent_idx ON target_dependencies (depends_on_id);

-- 4. What happened, once. `payload` is the event as receivers see it, taken when it happened
--    (a later change of the target does not rewrite history): {event, target {id, name, kind,
--    address, labels}, incident {id, started_at, ended_at, cause}, occurred_at}; event_id is
--    the row's id. A reminder belongs to one route and counts (seq) from 1.
CREATE TABLE alert_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    target_id bigint REFERENCES targets (id) ON DELETE CASCADE,
    incident_id bigint REFERENCES incidents (id) ON DELETE CASCADE,
    route_id bigint REFERENCES routes (id) ON DELETE CASCADE,
    seq integer,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb NOT NULL,
    CONSTRAINT alert_events_kind_valid
        CHECK (kind IN ('firing', 'resolved', 'reminder', 'test')),
    CONSTRAINT alert_events_incident_present
        CHECK (kind = 'test' OR (incident_id IS NOT NULL AND target_id IS NOT NULL)),
    CONSTRAINT alert_events_reminder_shape
        CHECK ((kind = 'reminder') = (route_id IS NOT NULL AND seq IS NOT NULL))
);
CREATE UNIQUE INDEX alert_events_once ON alert_events (incident_id, kind)
    WHERE kind IN ('firing', 'resolved');
CREATE UNIQUE INDEX alert_events_reminder_once ON alert_events (incident_id, route_id, seq)
    WHERE kind = 'reminder';
CREATE INDEX alert_events_target_idx ON alert_events (target_id, id DESC);

-- 5. One event to one channel: the outbox row the dispatchers claim. (event_id, channel_id)
--    is its idempotency key. A digest (storm control) has no event: it lists the deliveries
--    it collapsed (their digest_id). `send_resolved` is the route's, taken at firing time, so
--    a firing that was sent gets its resolve even if the route changed since. `summary`: a
--    resolve sent instead of a firing held back by delay_s ("down from .. to").
CREATE TABLE deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id bigint REFERENCES alert_events (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    route_id bigint REFERENCES routes (id) ON DELETE SET NULL,
    target_id bigint REFERENCES targets (id) ON DELETE CASCADE,
    incident_id bigint REFERENCES incidents (id) ON DELETE CASCADE,
    event_kind text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    send_resolved boolean NOT NULL DEFAULT true,
    summary boolean NOT NULL DEFAULT false,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    leased_by text,
    sent_at timestamptz,
    finished_at timestamptz,
    last_error text,
    last_status integer,
    digest_id bigint REFERENCES deliveries (id) ON DELETE SET NULL,
    CONSTRAINT deliveries_event_kind_valid
        CHECK (event_kind IN ('firing', 'resolved', 'reminder', 'test', 'digest')),
    CONSTRAINT deliveries_status_valid CHECK (status IN (
        'pending', 'sending', 'sent', 'failed', 'suppressed', 'collapsed')),
    CONSTRAINT deliveries_event_present CHECK ((event_kind = 'digest') = (event_id IS NULL)),
    CONSTRAINT deliveries_once UNIQUE (event_id, channel_id)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_target_idx ON deliveries (target_id, id DESC);
CREATE INDEX deliveries_incident_idx ON deliveries (incident_id, channel_id);
CREATE INDEX deliveries_channel_idx ON deliveries (channel_id, id DESC);
CREATE INDEX deliveries_digest_idx ON deliveries (digest_id) WHERE digest_id IS NOT NULL;
-- A channel's latest digest, which storm control reads every round of a storm.
CREATE INDEX deliveries_digest_latest_idx ON deliveries (channel_id, created_at DESC)
    WHERE event_kind = 'digest';

-- 6. The event as receivers see it (without event_id, which is the row's id).
CREATE FUNCTION vigil_alert_payload(event text, t targets, i incidents, at timestamptz)
    RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'event', event,
        'target', jsonb_build_object('id', t.id, 'name', t.name, 'kind', t.kind,
                                     'address', t.address, 'labels', t.labels),
        'incident', jsonb_build_object('id', i.id, 'started_at', i.started_at,
                                       'ended_at', i.ended_at, 'cause', i.cause),
        'occurred_at', at)
$$;

-- 7. A firing: one delivery per channel that an enabled route matching the target reaches
--    (the shortest delay_s of the routes that reach it, and their send_resolved if any has
--    it). Suppressed at once when a target it depends on has an open incident; the dispatcher
--    checks that again when a held-back firing comes due.
CREATE FUNCTION vigil_alert_firing(t targets, i incidents) RETURNS void LANGUAGE plpgsql AS $$
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

-- 8. A resolve, to each channel its firing went to or may have gone to, and only there:
--    - firing sent, being sent, tried, failed after tries, or sent inside a digest: a resolve
--      (when its send_resolved); the dispatcher sends it only after the firing is final;
--    - firing never tried and held back by delay_s past the incident's end: the firing is
--      collapsed, and the route's short_outage decides: nothing, or one resolve marked
--      `summary` (an outage shorter than delay_s; with delay_s 0 both are sent, in order);
--    - firing suppressed: the resolve is recorded as suppressed too.
CREATE FUNCTION vigil_alert_resolved(t targets, i incidents) RETURNS void LANGUAGE plpgsql AS $$
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

CREATE FUNCTION vigil_incidents_alert() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER incidents_alert
    AFTER INSERT OR UPDATE OF ended_at ON incidents
    FOR EACH ROW EXECUTE FUNCTION vigil_incidents_alert();

-- 9. The advisory-lock key the API takes before it writes a target's dependencies, so that two
--    writes cannot close a cycle together (the worker's keys are 7236001 and 7236002, 0010).
CREATE FUNCTION vigil_dependencies_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 7236003::bigint';

-- 10. The dispatchers' ordering rule, in one place: a resolve or reminder of an incident to a
--     channel waits while the firing to that channel (or, for a resolve, a reminder) is pending
--     or sending, itself or inside a digest that is. PL/pgSQL, so its plan is kept per session
--     (a SQL function with a subquery is not inlined and would be planned on every call); the
--     callers test event_kind first, so only resolves and reminders call it.
CREATE FUNCTION vigil_delivery_blocked(kind text, incident bigint, channel bigint)
    RETURNS boolean LANGUAGE plpgsql STABLE
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
