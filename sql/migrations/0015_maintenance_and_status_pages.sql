-- Maintenance windows, public status pages and incident updates (docs/maintenance.md,
-- docs/status-pages.md).

-- 1. Maintenance windows. A window covers the targets listed in maintenance_window_targets and
--    those whose labels contain match_labels (when not empty). Its schedule is one of:
--      once:   starts_at .. ends_at;
--      weekly: days (ISO 1 = Monday .. 7 = Sunday) at start_time (wall clock in time_zone),
--              for duration_s;
--      cron:   a 5-field cron expression in time_zone, for duration_s.
--    The occurrences are computed by vigil_core.windows (zoneinfo, cronsim) into
--    maintenance_occurrences, up to planned_until, and kept ahead by the worker.
CREATE TABLE maintenance_windows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    kind text NOT NULL,
    match_labels jsonb NOT NULL DEFAULT '{}',
    starts_at timestamptz,
    ends_at timestamptz,
    days smallint[],
    start_time time,
    cron text,
    duration_s integer,
    time_zone text NOT NULL DEFAULT 'UTC',
    include_in_uptime boolean NOT NULL DEFAULT false,
    planned_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT maintenance_windows_name_valid
        CHECK (char_length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    CONSTRAINT maintenance_windows_description_valid CHECK (char_length(description) <= 2000),
    CONSTRAINT maintenance_windows_kind_valid CHECK (kind IN ('once', 'weekly', 'cron')),
    CONSTRAINT maintenance_windows_match_labels_object
        CHECK (jsonb_typeof(match_labels) = 'object'),
    CONSTRAINT maintenance_windows_time_zone_valid
        CHECK (char_length(time_zone) BETWEEN 1 AND 64),
    CONSTRAINT maintenance_windows_shape CHECK (CASE kind
        WHEN 'once' THEN starts_at IS NOT NULL AND ends_at > starts_at
                         AND ends_at - starts_at <= interval '366 days'
                         AND days IS NULL AND start_time IS NULL AND cron IS NULL
                         AND duration_s IS NULL
        WHEN 'weekly' THEN starts_at IS NULL AND ends_at IS NULL AND cron IS NULL
                           AND cardinality(days) BETWEEN 1 AND 7
                           AND days <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]
                           AND start_time IS NOT NULL
                           AND duration_s BETWEEN 60 AND 604800
        WHEN 'cron' THEN starts_at IS NULL AND ends_at IS NULL AND days IS NULL
                         AND start_time IS NULL
                         AND char_length(cron) BETWEEN 9 AND 200
                         AND duration_s BETWEEN 60 AND 604800
    END)
);

CREATE TABLE maintenance_window_targets (
    window_id bigint NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    PRIMARY KEY (window_id, target_id)
);
CREATE INDEX maintenance_window_targets_target_idx ON maintenance_window_targets (target_id);

-- One row per occurrence. Ending an occurrence early moves its ends_at to the moment it was
-- ended and sets ended_early, which a recomputation of the schedule keeps.
CREATE TABLE maintenance_occurrences (
    window_id bigint NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    ended_early boolean NOT NULL DEFAULT false,
    PRIMARY KEY (window_id, starts_at),
    CONSTRAINT maintenance_occurrences_end_after_start CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_occurrences_ends_idx ON maintenance_occurrences (ends_at, starts_at);

-- The targets in maintenance at `at`: one row per target, the window that ends last. A window's
-- targets by id and by labels are looked up apart, so each uses its index.
CREATE INDEX targets_labels_idx ON targets USING gin (labels jsonb_path_ops);
CREATE FUNCTION vigil_maintenance_at(at timestamptz)
    RETURNS TABLE (target_id bigint, window_id bigint, window_name text,
                   starts_at timestamptz, ends_at timestamptz, include_in_uptime boolean)
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

-- The window one target is in at `at` (the one that ends last), for reads of one target or a
-- page of them (LEFT JOIN LATERAL): it reads the occurrences running then and nothing of the
-- other targets, where joining target_maintenance would work out every target's.
CREATE FUNCTION vigil_target_window(target bigint, labels jsonb, at timestamptz)
    RETURNS TABLE (window_id bigint, window_name text, starts_at timestamptz,
                   ends_at timestamptz, include_in_uptime boolean)
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

-- The targets in maintenance now (what reads join to show the status `maintenance`).
CREATE VIEW target_maintenance AS SELECT * FROM vigil_maintenance_at(now());

-- Seconds of [since, until) that maintenance windows not counted in uptime covered for a target
-- (overlapping occurrences counted once).
CREATE FUNCTION vigil_maintenance_excluded_s(target bigint, since timestamptz, until timestamptz)
    RETURNS double precision LANGUAGE sql STABLE
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

-- The status a client sees: 'paused' while disabled, 'maintenance' during a window, else the
-- stored one.
CREATE FUNCTION vigil_target_status(target_enabled boolean, stored_status text,
                                    in_maintenance boolean)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN NOT target_enabled THEN 'paused'
                  WHEN in_maintenance THEN 'maintenance'
                  ELSE stored_status END $$;

-- A change to a window, its targets or its occurrences wakes the workers (NOTIFY
-- vigil_maintenance): they re-plan their next boundary and release held firings.
CREATE FUNCTION vigil_maintenance_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vigil_maintenance', '');
    RETURN NULL;
END $$;
CREATE TRIGGER maintenance_windows_notify AFTER INSERT OR UPDATE OR DELETE ON maintenance_windows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_maintenance_notify();
CREATE TRIGGER maintenance_window_targets_notify
    AFTER INSERT OR UPDATE OR DELETE ON maintenance_window_targets
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_maintenance_notify();
CREATE TRIGGER maintenance_occurrences_notify
    AFTER INSERT OR UPDATE OR DELETE ON maintenance_occurrences
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_maintenance_notify();

-- 2. Checks run during a window are stored flagged with it.
ALTER TABLE checks ADD COLUMN maintenance_window_id bigint;

-- 3. A firing or reminder due while its target is in maintenance is suppressed and records the
--    window that held it. A held firing whose incident is still open when the target leaves
--    maintenance is released: back to pending, released_at set.
ALTER TABLE deliveries ADD COLUMN maintenance_window_id bigint;
ALTER TABLE deliveries ADD COLUMN released_at timestamptz;
CREATE INDEX deliveries_held_idx ON deliveries (incident_id)
    WHERE status = 'suppressed' AND maintenance_window_id IS NOT NULL;

-- 4. Public status pages: ordered groups of targets, each shown under a display name.
CREATE TABLE status_pages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    logo_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT status_pages_slug_valid CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    CONSTRAINT status_pages_title_valid
        CHECK (char_length(title) BETWEEN 1 AND 200 AND title = btrim(title)),
    CONSTRAINT status_pages_description_valid CHECK (char_length(description) <= 5000),
    CONSTRAINT status_pages_logo_url_valid
        CHECK (logo_url IS NULL OR (logo_url ~* '^https?://[^\s]+$' AND char_length(logo_url) <= 2048))
);

CREATE TABLE status_page_groups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    page_id bigint NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    UNIQUE (page_id, position),
    CONSTRAINT status_page_groups_name_valid
        CHECK (char_length(name) BETWEEN 1 AND 200 AND name = btrim(name))
);

CREATE TABLE status_page_targets (
    group_id bigint NOT NULL REFERENCES status_page_groups (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    position integer NOT NULL,
    display_name text NOT NULL,
    PRIMARY KEY (group_id, target_id),
    UNIQUE (group_id, position),
    CONSTRAINT status_page_targets_display_name_valid
        CHECK (char_length(display_name) BETWEEN 1 AND 200 AND display_name = btrim(display_name))
);
CREATE INDEX status_page_targets_target_idx ON status_page_targets (target_id);

-- 5. Updates editors post to an incident; every page that shows its target shows them.
CREATE TABLE incident_updates (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status text NOT NULL,
    message text NOT NULL,
    author text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_updates_status_valid
        CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    CONSTRAINT incident_updates_message_valid
        CHECK (char_length(message) BETWEEN 1 AND 5000 AND message = btrim(message))
);
CREATE INDEX incident_updates_incident_idx ON incident_updates (incident_id, created_at);

-- 6. Audited like every other write (vigil_audit_row, migration 0014).
CREATE TRIGGER maintenance_windows_audit AFTER INSERT OR UPDATE OR DELETE ON maintenance_windows
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('maintenance_window');
CREATE TRIGGER maintenance_window_targets_audit
    AFTER INSERT OR UPDATE OR DELETE ON maintenance_window_targets
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('maintenance_window_target');
CREATE TRIGGER status_pages_audit AFTER INSERT OR UPDATE OR DELETE ON status_pages
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('status_page');
CREATE TRIGGER status_page_groups_audit AFTER INSERT OR UPDATE OR DELETE ON status_page_groups
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('status_page_group');
CREATE TRIGGER status_page_targets_audit AFTER INSERT OR UPDATE OR DELETE ON status_page_targets
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('status_page_target');
CREATE TRIGGER incident_updates_audit AFTER INSERT OR UPDATE OR DELETE ON incident_updates
    FOR EACH ROW WHEN (coalesce(current_setting('vigil.audit', true), '') <> '')
    EXECUTE FUNCTION vigil_audit_row('incident_update');
