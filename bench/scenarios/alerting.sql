-- Bench-side SQL of the alerting scenario (bench/scenarios/alerting.py).

-- name: add_channel
-- The one webhook channel, pointed at the bench's loopback receiver.
INSERT INTO channels (name, kind, config) VALUES ('bench receiver', 'webhook', $1::jsonb)
RETURNING id;

-- name: add_route
-- One route matching every target ({} is contained in every label set), to channel $1.
WITH r AS (
    INSERT INTO routes (name, match_labels) VALUES ('everything', '{}') RETURNING id
)
INSERT INTO route_channels (route_id, channel_id, position) SELECT r.id, $1, 0 FROM r;

-- name: test_event
-- A test delivery to channel $1, as POST /channels/{id}/test makes one: proves a dispatcher
-- runs (and warms it up) before anything is measured. Returns the event id.
WITH e AS (
    INSERT INTO alert_events (kind, payload)
    VALUES ('test', jsonb_build_object('event', 'test', 'occurred_at', now()))
    RETURNING id
), d AS (
    INSERT INTO deliveries (event_id, channel_id, event_kind)
    SELECT e.id, $1, 'test' FROM e
)
SELECT e.id, pg_notify('vigil_alerts', '') FROM e;

-- name: not_up
-- Targets whose state is not up (yet).
SELECT count(*) FROM target_state WHERE status <> 'up';

-- name: marks
-- The newest event and incident ids: a phase's events are those after its marks (robust to a
-- check that started just before the toggle).
SELECT (SELECT coalesce(max(id), 0) FROM alert_events) AS event_id,
       (SELECT coalesce(max(id), 0) FROM incidents) AS incident_id;

-- name: phase_events
-- The firing ($3 = 'firing') or resolved events of targets $1 after event id $2, with the
-- check that caused them (the incident's start or end) and when their delivery to channel $4
-- was written (the flush transaction's time).
SELECT e.id AS event_id, e.target_id,
       CASE WHEN e.kind = 'firing' THEN i.started_at ELSE i.ended_at END AS checked_at,
       d.created_at AS stored_at, d.status
  FROM alert_events e
  JOIN incidents i ON i.id = e.incident_id
  LEFT JOIN deliveries d ON d.event_id = e.id AND d.channel_id = $4
 WHERE e.target_id = ANY($1) AND e.id > $2 AND e.kind = $3;

-- name: in_flight
-- Deliveries to channel $1 that may still be sent (again).
SELECT count(*) FROM deliveries WHERE channel_id = $1 AND status IN ('pending', 'sending');

-- name: incidents_since
-- Incidents of targets $1 after incident id $2 (on the healthy targets: false alarms).
SELECT count(*) FROM incidents WHERE target_id = ANY($1) AND id > $2;

-- name: healthy_causes
-- Why targets $1 had incidents after incident id $2: the error class of the cause, and count.
SELECT split_part(cause, ':', 1) AS cause, count(*) AS n
  FROM incidents
 WHERE target_id = ANY($1) AND id > $2
 GROUP BY 1
 ORDER BY n DESC;

-- name: last_delivery_age
-- Seconds since the newest alert or digest delivery to channel $1 was written (NULL: none):
-- storm control counts the alerts of the last 60 s and makes a digest at most once a minute,
-- so a repetition starts from a quiet channel, as an outage usually does.
SELECT extract(epoch FROM now() - max(created_at))::float8
  FROM deliveries
 WHERE channel_id = $1 AND event_kind IN ('firing', 'resolved', 'reminder', 'digest');
