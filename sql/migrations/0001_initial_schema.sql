-- Initial schema: targets, schedule, checks (partitioned), state, incidents, roll-ups,
-- and the triggers that keep the schedule and NOTIFY in the writing transaction.

CREATE TABLE targets (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL,
    kind              text NOT NULL,
    address           text NOT NULL,
    interval_s        double precision NOT NULL,
    timeout_s         double precision NOT NULL,
    enabled           boolean NOT NULL DEFAULT true,
    settings          jsonb NOT NULL DEFAULT '{}'::jsonb,
    failure_threshold integer NOT NULL DEFAULT 1,
    success_threshold integer NOT NULL DEFAULT 1,
    labels            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT targets_name_unique UNIQUE (name),
    CONSTRAINT targets_name_valid CHECK (char_length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    CONSTRAINT targets_kind_valid CHECK (kind IN ('http', 'tcp', 'icmp')),
    CONSTRAINT targets_address_valid CHECK (
        char_length(address) BETWEEN 1 AND 2048
        AND address !~ '\s'
        AND CASE kind
            WHEN 'http' THEN address ~* '^https?://[^/?#]+'
            -- host:port, with IPv6 literals in brackets; the port is 1..65535
            WHEN 'tcp'  THEN address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'
                         AND substring(address from ':([0-9]{1,5})$')::integer BETWEEN 1 AND 65535
            WHEN 'icmp' THEN address ~ '^[^/\[\]]+$'
            ELSE true  -- an unknown kind is targets_kind_valid's to reject
        END),
    CONSTRAINT targets_interval_valid CHECK (interval_s >= 1 AND interval_s <= 86400),
    CONSTRAINT targets_timeout_valid CHECK (timeout_s > 0 AND timeout_s < interval_s),
    CONSTRAINT targets_settings_object CHECK (jsonb_typeof(settings) = 'object'),
    CONSTRAINT targets_labels_object CHECK (jsonb_typeof(labels) = 'object'),
    CONSTRAINT targets_failure_threshold_valid CHECK (failure_threshold BETWEEN 1 AND 100),
    CONSTRAINT targets_success_threshold_valid CHECK (success_threshold BETWEEN 1 AND 100)
);

-- One row per enabled target. The claim query walks the index on next_check_at,
-- so it stays cheap at 100k targets. anchor_at + k * interval is slot k.
CREATE TABLE schedule (
    target_id     bigint PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    anchor_at     timestamptz NOT NULL,
    next_check_at timestamptz NOT NULL
);
CREATE INDEX schedule_next_check_at_idx ON schedule (next_check_at);

-- One row per check, partitioned by day so that retention is DROP of a partition.
-- No FK to targets: a delete must not scan history, and history outlives a target.
CREATE TABLE checks (
    target_id     bigint NOT NULL,
    checked_at    timestamptz NOT NULL,
    due_at        timestamptz,
    ok            boolean NOT NULL,
    latency_ms    real,
    status_code   smallint,
    error_class   text,
    error_message text,
    timings       jsonb,
    CONSTRAINT checks_error_class_when_failed CHECK (ok OR error_class IS NOT NULL),
    CONSTRAINT checks_latency_valid CHECK (latency_ms IS NULL OR latency_ms >= 0)
) PARTITION BY RANGE (checked_at);
CREATE INDEX checks_target_time_idx ON checks (target_id, checked_at DESC);

-- Creates the daily partitions of `checks` from `days_back` days ago to `days_ahead` days ahead.
CREATE FUNCTION vigil_ensure_check_partitions(days_back integer, days_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
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

DO $$ BEGIN PERFORM vigil_ensure_check_partitions(1, 7); END $$;

CREATE TABLE target_state (
    target_id          bigint PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    status             text NOT NULL DEFAULT 'pending',
    since              timestamptz NOT NULL DEFAULT now(),
    consecutive_ok     integer NOT NULL DEFAULT 0,
    consecutive_fail   integer NOT NULL DEFAULT 0,
    last_checked_at    timestamptz,
    last_ok            boolean,
    last_latency_ms    real,
    last_status_code   smallint,
    last_error_class   text,
    last_error_message text,
    tls_expires_at     timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT target_state_status_valid CHECK (status IN ('up', 'down', 'pending', 'unknown')),
    CONSTRAINT target_state_counts_valid CHECK (consecutive_ok >= 0 AND consecutive_fail >= 0)
);
CREATE INDEX target_state_status_idx ON target_state (status);

-- One row per down period. At most one open incident per target.
CREATE TABLE incidents (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id  bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    cause      text NOT NULL,
    CONSTRAINT incidents_end_after_start CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX incidents_one_open_per_target ON incidents (target_id) WHERE ended_at IS NULL;
CREATE INDEX incidents_target_started_idx ON incidents (target_id, started_at DESC);
CREATE INDEX incidents_started_idx ON incidents (started_at DESC);

-- Hourly roll-ups per target. latency_buckets[i] counts checks whose latency is at most
-- the i-th bound in vigil_core.rollups.LATENCY_BUCKETS_MS (the last bucket is +Inf).
CREATE TABLE check_rollups_hourly (
    target_id       bigint NOT NULL,
    hour            timestamptz NOT NULL,
    checks          integer NOT NULL DEFAULT 0,
    ok              integer NOT NULL DEFAULT 0,
    latency_sum_ms  double precision NOT NULL DEFAULT 0,
    latency_max_ms  real NOT NULL DEFAULT 0,
    latency_count   integer NOT NULL DEFAULT 0,
    latency_buckets integer[] NOT NULL,
    PRIMARY KEY (target_id, hour),
    CONSTRAINT check_rollups_counts_valid CHECK (ok BETWEEN 0 AND checks AND latency_count BETWEEN 0 AND checks),
    CONSTRAINT check_rollups_hour_aligned CHECK (hour = date_trunc('hour', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
);

-- Keeps `schedule` and `target_state` in step with `targets`, in the writing transaction.
-- A new, re-enabled or re-addressed target is due at once; a change of interval re-anchors.
CREATE FUNCTION vigil_targets_sync() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER targets_sync AFTER INSERT OR UPDATE ON targets
    FOR EACH ROW EXECUTE FUNCTION vigil_targets_sync();

-- Every write to a target wakes the workers: the payload is a hint, the worker re-reads the row.
CREATE FUNCTION vigil_targets_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vigil_targets', json_build_object(
        'op', lower(TG_OP),
        'id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER targets_notify AFTER INSERT OR UPDATE OR DELETE ON targets
    FOR EACH ROW EXECUTE FUNCTION vigil_targets_notify();
