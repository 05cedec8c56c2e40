-- The dispatcher's SQL (dispatcher.py). Positional parameters only. Every statement is one
-- round trip in a transaction of its own: nothing is held open while a message is sent.
--
-- "Due": a pending delivery whose next_attempt_at has passed, or a sending one whose lease
-- expired (its worker died or lost the database between sending and marking).
-- "Blocked" (the ordering rule, vigil_delivery_blocked in 0011): a resolve or reminder of
-- incident I to channel C is not sent while the firing of I to C (or, for a resolve, a
-- reminder) is pending or sending, itself or inside a digest that is.

-- name: make_reminders
-- The latest due reminder of each open incident and route with repeat_interval_s whose firing
-- went to one of the route's channels: an alert_events row (ON CONFLICT DO NOTHING: one per
-- incident, route and seq, however many workers try) and a delivery to each of the route's
-- channels that got the firing. Reminder n is due at started_at + delay_s + n * repeat.
-- Returns how many deliveries were made and when the next reminder is due (seconds from now).
WITH cand AS (
    SELECT i.id AS incident_id, i.target_id, i.started_at, r.id AS route_id, r.delay_s,
           r.repeat_interval_s,
           greatest(0, floor((extract(epoch FROM now() - i.started_at) - r.delay_s)
                             / r.repeat_interval_s))::integer AS seq
      FROM routes r
      JOIN incidents i ON i.ended_at IS NULL
      JOIN targets t ON t.id = i.target_id AND t.labels @> r.match_labels
     WHERE r.enabled AND r.repeat_interval_s IS NOT NULL
       AND EXISTS (SELECT 1
                     FROM route_channels rc
                     JOIN deliveries f ON f.incident_id = i.id AND f.channel_id = rc.channel_id
                                      AND f.event_kind = 'firing'
                     LEFT JOIN deliveries g ON g.id = f.digest_id
                    WHERE rc.route_id = r.id AND (f.status = 'sent' OR g.status = 'sent'))
), events AS (
    INSERT INTO alert_events (kind, target_id, incident_id, route_id, seq, occurred_at, payload)
    SELECT 'reminder', c.target_id, c.incident_id, c.route_id, c.seq, due.at,
           fe.payload || jsonb_build_object('event', 'reminder', 'occurred_at', due.at)
      FROM cand c
      JOIN alert_events fe ON fe.incident_id = c.incident_id AND fe.kind = 'firing'
     CROSS JOIN LATERAL (
           SELECT c.started_at + make_interval(secs => c.delay_s + c.seq * c.repeat_interval_s)
                  AS at) due
     WHERE c.seq >= 1
       AND NOT EXISTS (SELECT 1 FROM alert_events x
                        WHERE x.incident_id = c.incident_id AND x.route_id = c.route_id
                          AND x.seq = c.seq AND x.kind = 'reminder')
    ON CONFLICT DO NOTHING
    RETURNING id, incident_id, route_id, target_id
), made AS (
    INSERT INTO deliveries (event_id, channel_id, route_id, target_id, incident_id, event_kind)
    SELECT e.id, rc.channel_id, e.route_id, e.target_id, e.incident_id, 'reminder'
      FROM events e
      JOIN route_channels rc ON rc.route_id = e.route_id
      JOIN channels ch ON ch.id = rc.channel_id AND ch.enabled
     WHERE EXISTS (SELECT 1
                     FROM deliveries f
                     LEFT JOIN deliveries g ON g.id = f.digest_id
                    WHERE f.incident_id = e.incident_id AND f.channel_id = rc.channel_id
                      AND f.event_kind = 'firing' AND (f.status = 'sent' OR g.status = 'sent'))
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM made) AS made,
       (SELECT extract(epoch FROM min(c.started_at + make_interval(
                   secs => c.delay_s + (c.seq + 1) * c.repeat_interval_s)) - now())::double precision
          FROM cand c) AS next_in_s;

-- name: suppress_due
-- Due deliveries that must not be sent, recorded as suppressed with the reason (last_error):
--   * to a disabled channel (any kind): 'channel disabled';
--   * a firing or reminder never tried (or the summary resolve of a short outage) whose target
--     is in a maintenance window now (migration 0015): 'in maintenance window <name> (id N)',
--     and maintenance_window_id records the window that holds it (the worker's windows task
--     releases a held firing when the window ends with the incident still open);
--   * a firing or reminder never tried whose target depends on one with an open incident
--     (re-checked here because delay_s held it back; one that was tried may have arrived,
--     and then its resolve must follow), naming the target that is down;
--   * a resolve never tried whose firing to that channel is suppressed, or is suppressed by
--     this statement: a resolve written while its firing was still pending (the incident
--     ended before the firing's first round) would otherwise go out alone once the firing is
--     suppressed, the same rule as the incidents trigger's 'its firing was suppressed'.
-- maintenance_window_id is set to the holding window, NULL for the other reasons (a firing
-- released and then suppressed for another reason is not held: nothing releases it again).
WITH due AS (
    SELECT d.id, d.event_kind, d.incident_id, d.channel_id, m.window_id,
           CASE WHEN NOT c.enabled THEN 'channel disabled'
                WHEN m.window_id IS NOT NULL
                     THEN 'in maintenance window ' || m.window_name || ' (id ' || m.window_id || ')'
                ELSE 'a target it depends on is down: ' || p.name || ' (id ' || p.id || ')'
           END AS reason
      FROM deliveries d
      JOIN channels c ON c.id = d.channel_id
      LEFT JOIN LATERAL (
            SELECT tm.window_id, tm.window_name
              FROM target_maintenance tm
             WHERE tm.target_id = d.target_id) m
             ON c.enabled AND d.attempts = 0
                AND (d.event_kind IN ('firing', 'reminder') OR d.summary)
      LEFT JOIN LATERAL (
            SELECT t.id, t.name
              FROM target_dependencies td
              JOIN incidents i ON i.target_id = td.depends_on_id AND i.ended_at IS NULL
              JOIN targets t ON t.id = td.depends_on_id
             WHERE td.target_id = d.target_id
             ORDER BY t.id
             LIMIT 1) p ON d.event_kind IN ('firing', 'reminder') AND d.attempts = 0
     WHERE ((d.status = 'pending' AND d.next_attempt_at <= now())
            OR (d.status = 'sending' AND d.lease_until <= now()))
       AND (NOT c.enabled OR m.window_id IS NOT NULL OR p.id IS NOT NULL)
       FOR UPDATE OF d SKIP LOCKED
), orphaned AS (
    SELECT d.id, d.event_kind, NULL::bigint AS window_id, 'its firing was suppressed' AS reason
      FROM deliveries d
     WHERE d.event_kind = 'resolved' AND d.attempts = 0
       AND ((d.status = 'pending' AND d.next_attempt_at <= now())
            OR (d.status = 'sending' AND d.lease_until <= now()))
       AND d.id NOT IN (SELECT id FROM due)
       AND EXISTS (SELECT 1
                     FROM deliveries f
                    WHERE f.incident_id = d.incident_id AND f.channel_id = d.channel_id
                      AND f.event_kind = 'firing'
                      AND (f.status = 'suppressed'
                           OR f.id IN (SELECT id FROM due WHERE event_kind = 'firing')))
       FOR UPDATE OF d SKIP LOCKED
), suppressed AS (
    SELECT id, window_id, reason FROM due
    UNION ALL
    SELECT id, window_id, reason FROM orphaned
)
UPDATE deliveries d
   SET status = 'suppressed', finished_at = now(), lease_until = NULL, leased_by = NULL,
       last_error = s.reason, maintenance_window_id = s.window_id
  FROM suppressed s, channels c
 WHERE d.id = s.id AND c.id = d.channel_id
RETURNING d.id, d.channel_id, c.kind AS channel_kind, d.event_kind, d.last_error AS reason,
          d.maintenance_window_id;

-- name: storm_candidates
-- Channels (enabled) with due deliveries never tried, with how many of their firing, resolved
-- and reminder deliveries were created within $2 seconds, counted among the newest $1 + 1 by
-- id (an index walk of $1 + 1 rows: "more than $1 in the window" needs no more), and, for
-- those over $1, the age in seconds of their latest digest that held fewer than $3 items
-- (NULL: none; deliveries_digest_latest_idx walks the channel's digests newest first, and
-- full ones are rare) and of their oldest delivery waiting for one.
SELECT s.channel_id, s.channel_kind, s.recent, s.oldest_held_age_s,
       CASE WHEN s.recent > $1 THEN (
           SELECT extract(epoch FROM now() - g.created_at)::double precision
             FROM deliveries g
            WHERE g.channel_id = s.channel_id AND g.event_kind = 'digest'
              AND (SELECT count(*) FROM deliveries x WHERE x.digest_id = g.id) < $3
            ORDER BY g.created_at DESC
            LIMIT 1) END AS last_digest_age_s
  FROM (SELECT due.channel_id, c.kind AS channel_kind, due.oldest_held_age_s,
               (SELECT count(*)
                  FROM (SELECT d.created_at
                          FROM deliveries d
                         WHERE d.channel_id = due.channel_id
                           AND d.event_kind IN ('firing', 'resolved', 'reminder')
                         ORDER BY d.id DESC
                         LIMIT $1 + 1) newest
                 WHERE newest.created_at > now() - make_interval(secs => $2))::integer AS recent
          FROM (SELECT d.channel_id,
                       extract(epoch FROM now() - min(d.created_at))::double precision
                           AS oldest_held_age_s
                  FROM deliveries d
                 WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND d.attempts = 0
                   AND d.event_kind IN ('firing', 'resolved', 'reminder')
                 GROUP BY d.channel_id) due
          JOIN channels c ON c.id = due.channel_id AND c.enabled) s;

-- name: make_digests
-- One digest delivery per channel of $1 that has had none with fewer than $3 items for $2
-- seconds, standing for up to $3 of its due deliveries never tried that are not blocked
-- (oldest first): they become `collapsed` with digest_id set. The channel row is locked (SKIP
-- LOCKED) so two workers do not digest one channel at once; a channel with nothing to
-- collapse gets no digest. A delivery whose target is in maintenance is left for suppress_due
-- (one that came due since this round's suppress_due ran). Returns the digests made.
WITH ch AS (
    SELECT c.id, c.kind
      FROM channels c
     WHERE c.id = ANY($1::bigint[]) AND c.enabled
       AND NOT EXISTS (SELECT 1
                         FROM deliveries g
                        WHERE g.channel_id = c.id AND g.event_kind = 'digest'
                          AND g.created_at > now() - make_interval(secs => $2)
                          AND (SELECT count(*) FROM deliveries x WHERE x.digest_id = g.id) < $3)
       FOR NO KEY UPDATE OF c SKIP LOCKED
), items AS (
    SELECT d.id, d.channel_id
      FROM ch
     CROSS JOIN LATERAL (
           SELECT d.id, d.channel_id
             FROM deliveries d
            WHERE d.channel_id = ch.id
              AND d.status = 'pending' AND d.next_attempt_at <= now() AND d.attempts = 0
              AND d.event_kind IN ('firing', 'resolved', 'reminder')
              AND NOT (d.event_kind IN ('resolved', 'reminder')
                       AND vigil_delivery_blocked(d.event_kind, d.incident_id, d.channel_id))
              AND NOT ((d.event_kind IN ('firing', 'reminder') OR d.summary)
                       AND d.target_id IN (SELECT tm.target_id FROM target_maintenance tm))
            ORDER BY d.id
            LIMIT $3
              FOR UPDATE OF d SKIP LOCKED) d
), digests AS (
    INSERT INTO deliveries (channel_id, event_kind)
    SELECT channel_id, 'digest' FROM items GROUP BY channel_id
    RETURNING id, channel_id
), collapsed AS (
    UPDATE deliveries d
       SET status = 'collapsed', digest_id = g.id, finished_at = now()
      FROM items i
      JOIN digests g ON g.channel_id = i.channel_id
     WHERE d.id = i.id
    RETURNING d.id
)
SELECT g.id, g.channel_id, ch.kind AS channel_kind,
       (SELECT count(*) FROM items i WHERE i.channel_id = g.channel_id)::integer AS items
  FROM digests g
  JOIN ch ON ch.id = g.channel_id;

-- name: claim
-- Claims up to $1 due deliveries, oldest due first, skipping blocked ones and, on storming
-- channels (waiting for their digest), those never tried; leases them for $2 seconds to
-- token $3 (unique to this claim: only its holder may mark them) and counts the attempt.
-- Storming: the channels of $4 (storm_candidates' verdict this round) and, seen by this
-- statement's own snapshot, any channel with more than $5 such deliveries created within $6
-- seconds: a burst that committed after storm_candidates ran is held too, not sent one by one.
-- A firing, reminder or summary never tried whose target is in maintenance is never claimed:
-- it came due after this round's suppress_due, and the next round suppresses it.
-- Returns what sending needs; a digest brings its items (the collapsed deliveries' events, in
-- order).
WITH storming AS (
    SELECT due.channel_id
      FROM (SELECT DISTINCT d.channel_id
              FROM deliveries d
             WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND d.attempts = 0
               AND d.event_kind IN ('firing', 'resolved', 'reminder')) due
     WHERE due.channel_id = ANY($4::bigint[])
        OR (SELECT count(*)
              FROM (SELECT d.created_at
                      FROM deliveries d
                     WHERE d.channel_id = due.channel_id
                       AND d.event_kind IN ('firing', 'resolved', 'reminder')
                     ORDER BY d.id DESC
                     LIMIT $5 + 1) newest
             WHERE newest.created_at > now() - make_interval(secs => $6)) > $5
), picked AS (
    SELECT d.id, d.channel_id, d.event_id
      FROM deliveries d
     WHERE ((d.status = 'pending' AND d.next_attempt_at <= now())
            OR (d.status = 'sending' AND d.lease_until <= now()))
       AND NOT (d.attempts = 0 AND d.event_kind IN ('firing', 'resolved', 'reminder')
                AND d.channel_id IN (SELECT channel_id FROM storming))
       AND NOT (d.event_kind IN ('resolved', 'reminder')
                AND vigil_delivery_blocked(d.event_kind, d.incident_id, d.channel_id))
       AND NOT (d.attempts = 0 AND (d.event_kind IN ('firing', 'reminder') OR d.summary)
                AND d.target_id IN (SELECT tm.target_id FROM target_maintenance tm))
     ORDER BY d.next_attempt_at
     LIMIT $1
       FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d
   SET status = 'sending', attempts = d.attempts + 1,
       lease_until = now() + make_interval(secs => $2), leased_by = $3
  FROM picked p
  JOIN channels c ON c.id = p.channel_id
  LEFT JOIN alert_events e ON e.id = p.event_id
 WHERE d.id = p.id
RETURNING d.id, d.event_kind, d.event_id, d.channel_id, c.kind AS channel_kind, c.config,
          d.target_id, d.summary, d.attempts, d.created_at,
          extract(epoch FROM now() - d.created_at)::double precision AS age_s, e.payload, e.seq,
          CASE WHEN d.event_kind = 'digest' THEN (
              SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'delivery_id', m.id, 'event_id', m.event_id, 'target_id', m.target_id,
                         'summary', m.summary, 'seq', me.seq, 'payload', me.payload)
                         ORDER BY m.id), '[]'::jsonb)
                FROM deliveries m
                JOIN alert_events me ON me.id = m.event_id
               WHERE m.digest_id = d.id) END AS items;

-- name: mark
-- The outcome of an attempt ($1 delivery, $2 the claim's token), only while the claim still
-- holds it: $3 status (sent, pending, failed), $4 seconds until the next attempt (pending),
-- $5 the error, $6 the receiver's status, $7 the channel is broken (404/410). The channel
-- records it too (last_sent_at, or last_error and broken_at/broken_reason; a success clears
-- broken_at). A final firing, reminder or digest with a resolve or reminder waiting on it
-- NOTIFYs, so every worker's dispatcher sends that at once. Returns 1 if marked, 0 if the lease
-- was lost.
WITH marked AS (
    UPDATE deliveries d
       SET status = $3,
           next_attempt_at = CASE WHEN $3 = 'pending'
                                  THEN now() + make_interval(secs => $4::double precision)
                                  ELSE d.next_attempt_at END,
           lease_until = NULL, leased_by = NULL,
           sent_at = CASE WHEN $3 = 'sent' THEN now() END,
           finished_at = CASE WHEN $3 <> 'pending' THEN now() END,
           last_error = $5, last_status = $6
     WHERE d.id = $1 AND d.leased_by = $2 AND d.status = 'sending'
    RETURNING d.id, d.channel_id, d.event_kind, d.incident_id
), channel AS (
    UPDATE channels c
       SET last_sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE c.last_sent_at END,
           last_error = CASE WHEN $3 = 'sent' THEN c.last_error ELSE $5 END,
           last_error_at = CASE WHEN $3 = 'sent' THEN c.last_error_at ELSE now() END,
           broken_at = CASE WHEN $3 = 'sent' THEN NULL
                            WHEN $7::boolean THEN coalesce(c.broken_at, now())
                            ELSE c.broken_at END,
           broken_reason = CASE WHEN $3 = 'sent' THEN NULL
                                WHEN $7::boolean THEN $5
                                ELSE c.broken_reason END
      FROM marked m
     WHERE c.id = m.channel_id
)
SELECT (SELECT count(*) FROM marked)::integer AS marked,
       (SELECT count(pg_notify('vigil_alerts', ''))
          FROM marked m
         WHERE $3 <> 'pending'
           AND (m.event_kind = 'digest'
                OR (m.event_kind IN ('firing', 'reminder') AND EXISTS (
                        SELECT 1 FROM deliveries w
                         WHERE w.incident_id = m.incident_id AND w.channel_id = m.channel_id
                           AND w.status = 'pending'
                           AND w.event_kind IN ('resolved', 'reminder'))))) AS notified;

-- name: release
-- At shutdown: sends that were cut short go back to pending, due now, for any worker (their
-- attempt counts: it may have arrived). Pairs of ($1 id, $2 token).
UPDATE deliveries d
   SET status = 'pending', next_attempt_at = now(), lease_until = NULL, leased_by = NULL
  FROM unnest($1::bigint[], $2::text[]) AS u(id, token)
 WHERE d.id = u.id AND d.leased_by = u.token AND d.status = 'sending';

-- name: next_due
-- Seconds until the next delivery comes due (a retry, a firing held back by delay_s) or a
-- lease expires; NULL when nothing waits. Due ones left unclaimed are blocked, held for a
-- digest or beyond the free slots: each of those has its own wake-up. One that came due while
-- the round ran ($1: seconds since it began), after its suppress and claim looked, counts
-- (negative: a round at once).
SELECT extract(epoch FROM least(
           (SELECT min(next_attempt_at) FROM deliveries
             WHERE status = 'pending' AND next_attempt_at > now() - make_interval(secs => $1)),
           (SELECT min(lease_until) FROM deliveries
             WHERE status = 'sending' AND lease_until > now())) - clock_timestamp())::double precision
       AS in_s;
