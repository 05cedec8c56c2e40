-- The worker's SQL. Positional parameters only; every batch goes through unnest().

-- name: claim_due
-- Claims up to $2 slots due within $1 seconds and advances each to its next slot.
-- Slot k of a target is due at anchor_at + k * interval_s (fixed rate, no drift). A slot
-- missed while no worker ran is skipped: the claimed slot is the latest one due, never one
-- before next_check_at, so no slot is claimed twice. Returns the database clock too, so the
-- worker times slots against it rather than its own clock. The slot is computed from the row
-- as it was locked, and the UPDATE finds that row by its ctid (it stays put while locked), so
-- schedule is read once and targets joined once. It runs on the claim pool's connection,
-- with hash and merge joins off (main.CLAIM_SETTINGS): the generic plan guesses a tenth of
-- the schedule for LIMIT $2, and hashed all of targets for it, O(targets) a claim. The time
-- since the anchor is a float8 (date_part), not a numeric (extract): ~1 us less a row; a
-- float8's step there is under 0.2 us, below a timestamp's microsecond, for 30 years.
WITH due AS (
    SELECT s.ctid AS row_id, s.target_id, s.next_check_at, s.anchor_at
      FROM schedule s
     WHERE s.next_check_at <= now() + make_interval(secs => $1)
     ORDER BY s.next_check_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), slot AS (
    SELECT due.row_id, due.anchor_at, t.id, t.name, t.kind, t.address, t.interval_s,
           t.timeout_s, t.settings,
           greatest(due.next_check_at,
                    due.anchor_at + make_interval(secs => t.interval_s * floor(
                        date_part('epoch', now() - due.anchor_at) / t.interval_s))) AS due_at
      FROM due
      JOIN targets t ON t.id = due.target_id
)
UPDATE schedule s
   SET next_check_at = slot.due_at + make_interval(secs => slot.interval_s)
  FROM slot
 WHERE s.ctid = slot.row_id
RETURNING slot.id, slot.name, slot.kind, slot.address, slot.interval_s, slot.timeout_s,
          slot.settings, slot.anchor_at, slot.due_at, clock_timestamp() AS db_now;

-- name: next_due
SELECT min(next_check_at) AS next_check_at, clock_timestamp() AS db_now FROM schedule;

-- name: schedule_anchors
-- Which of these targets still have a schedule, and on which grid (a change re-anchors).
SELECT target_id, anchor_at FROM schedule WHERE target_id = ANY($1::bigint[]);

-- name: advance_after_offline
-- After an outage: the slots this worker checked on its own must not be claimed again.
UPDATE schedule s
   SET next_check_at = greatest(s.next_check_at, u.next_check_at)
  FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS u(target_id, anchor_at, next_check_at)
 WHERE s.target_id = u.target_id AND s.anchor_at = u.anchor_at;

-- name: lock_states
-- Locked in the order of $1 (sorted, distinct ids), so two workers flushing overlapping
-- targets cannot deadlock. The LATERAL subquery with FOR UPDATE is not flattened, so each id
-- is an index lookup: `= ANY($1)` or a plain join with thousands of ids was planned as a scan
-- of all targets, O(targets) per flush. The columns are state.TargetState's fields, by name
-- (the flush checks that they are; a column named otherwise or out of place is an error):
-- the current roll-up hour as an hour number (hourly.hour_of), which decodes for less than
-- a timestamptz and needs no conversion.
SELECT s.*
  FROM unnest($1::bigint[]) AS u(id)
 CROSS JOIN LATERAL (
       SELECT st.target_id, st.status, st.since, st.consecutive_ok, st.consecutive_fail,
              st.last_checked_at, st.tls_expires_at, t.failure_threshold, t.success_threshold,
              t.enabled, (extract(epoch FROM st.cur_hour)::bigint / 3600)::integer AS cur_hour
         FROM target_state st
         JOIN targets t ON t.id = st.target_id
        WHERE st.target_id = u.id
          FOR UPDATE OF st) AS s;

-- name: stored_slots
-- Slots (target, due) of this batch already stored, e.g. by another worker during an outage.
SELECT c.target_id, c.due_at
  FROM checks c
  JOIN unnest($1::bigint[], $2::timestamptz[]) AS u(target_id, due_at)
    ON c.target_id = u.target_id AND c.due_at = u.due_at
 WHERE c.checked_at >= $3;

-- name: stored_results
-- Results of this batch already stored: a flush that committed although its answer was lost.
SELECT c.target_id, c.checked_at
  FROM unnest($1::bigint[], $2::timestamptz[]) AS u(target_id, checked_at)
  JOIN checks c ON c.target_id = u.target_id AND c.checked_at = u.checked_at;

-- name: batch_windows
-- The maintenance occurrences that overlap a batch's time range [$1, $2], with their windows'
-- include_in_uptime. No array parameter: with no window near the batch (the usual case) this
-- is the flush's one statement about maintenance, one probe of maintenance_occurrences_ends_idx
-- (which walks the occurrences planned ahead) that finds nothing.
SELECT o.window_id, o.starts_at, o.ends_at, w.include_in_uptime
  FROM maintenance_occurrences o
  JOIN maintenance_windows w ON w.id = o.window_id
 WHERE o.ends_at > $1 AND o.starts_at <= $2;

-- name: batch_window_targets
-- Which of the batch's targets ($2) the windows $1 cover: listed in the window, or labels that
-- contain its match_labels (as vigil_maintenance_at decides). Only run when batch_windows found
-- some.
SELECT DISTINCT m.window_id, m.target_id
  FROM maintenance_windows w
 CROSS JOIN LATERAL (
       SELECT w.id AS window_id, mt.target_id
         FROM maintenance_window_targets mt
        WHERE mt.window_id = w.id AND mt.target_id = ANY($2::bigint[])
       UNION ALL
       SELECT w.id, t.id
         FROM unnest($2::bigint[]) AS u(id)
         JOIN targets t ON t.id = u.id
        WHERE w.match_labels <> '{}' AND t.labels @> w.match_labels) m
 WHERE w.id = ANY($1::bigint[]);

-- name: close_incidents
UPDATE incidents i
   SET ended_at = greatest(u.ended_at, i.started_at)
  FROM unnest($1::bigint[], $2::timestamptz[]) AS u(target_id, ended_at)
 WHERE i.target_id = u.target_id AND i.ended_at IS NULL;

-- name: open_incidents
INSERT INTO incidents (target_id, started_at, ended_at, cause)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[]);

-- name: move_hours
-- The current roll-up hours of these targets ($1, sorted) are complete: into the table.
-- Before store_batch, which starts their new current hours.
SELECT vigil_rollups_hourly_add(array_agg(x.h ORDER BY u.id))
  FROM unnest($1::bigint[]) AS u(id)
 CROSS JOIN LATERAL (
       SELECT h FROM check_rollups_current h
        WHERE h.target_id = u.id AND h.checks > 0) AS x;

-- name: add_hours
-- A batch's roll-up hours other than its targets' current ones ($1, vigil_rollup_hour rows):
-- results older than the current hour (two workers flushing out of order), hours in between,
-- and what a batch has of a current hour that a later one replaces (after move_hours, since
-- one statement cannot add to a row twice).
SELECT vigil_rollups_hourly_add($1::vigil_rollup_hour[]);

-- name: store_batch
-- One round trip for the rest of a flush once its checks are COPYed: the new states and what
-- the batch adds to their current roll-up hours ($1, rows of type vigil_state_flush; a
-- different hour than the row's starts it afresh) and the NOTIFYs ($2 channel, $3 payloads).
-- `st.` on the right of SET is the row before this statement; the data-modifying CTE runs
-- although nothing refers to it. Fewer round trips make a flush shorter, and a result
-- visible sooner. Buckets arrive as text ('{1,0,...}'): unnest() would flatten a 2-D array.
-- They are cast once per row, in a LATERAL subquery that OFFSET 0 keeps apart: flattened, the
-- inlined vigil_buckets_add would repeat the cast for each bucket. Adding them so, rather than
-- with ARRAY(SELECT a + b FROM unnest(...)) (a subplan per row), cost Postgres 2.3 us less a
-- row of the 11 this statement cost (bench/README.md, "Postgres per stored check").
WITH stored_states AS (
    UPDATE target_state st
       SET status = u.status, since = u.since, consecutive_ok = u.consecutive_ok,
           consecutive_fail = u.consecutive_fail, last_checked_at = u.checked_at, last_ok = u.ok,
           last_latency_ms = u.latency_ms, last_status_code = u.status_code,
           last_error_class = u.error_class, last_error_message = u.error_message,
           tls_expires_at = u.tls_expires_at, updated_at = now(),
           cur_hour = u.cur_hour,
           cur_checks = CASE WHEN st.cur_hour = u.cur_hour THEN st.cur_checks ELSE 0 END + u.checks,
           cur_ok = CASE WHEN st.cur_hour = u.cur_hour THEN st.cur_ok ELSE 0 END + u.ok_checks,
           cur_latency_sum_ms = CASE WHEN st.cur_hour = u.cur_hour THEN st.cur_latency_sum_ms ELSE 0 END
                                + u.latency_sum_ms,
           cur_latency_max_ms = CASE WHEN st.cur_hour = u.cur_hour
                                     THEN greatest(st.cur_latency_max_ms, u.latency_max_ms)
                                     ELSE u.latency_max_ms END,
           cur_latency_count = CASE WHEN st.cur_hour = u.cur_hour THEN st.cur_latency_count ELSE 0 END
                               + u.latency_count,
           cur_latency_buckets = CASE WHEN st.cur_hour = u.cur_hour
                                      THEN vigil_buckets_add(st.cur_latency_buckets, b.buckets)
                                      ELSE b.buckets END
      FROM unnest($1::vigil_state_flush[]) AS u
     CROSS JOIN LATERAL (SELECT u.latency_buckets::integer[] AS buckets OFFSET 0) AS b
     WHERE st.target_id = u.target_id
)
SELECT pg_notify($2, payload) FROM unnest($3::text[]) AS payload;

-- name: composite_attributes
-- The attribute names of each of the composite types named in $1, in order (NULL for a type
-- that does not exist), in one round trip: the flush builds its rows by name and checks them
-- against these in every flush.
SELECT n.name,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum)
          FROM pg_type t
          JOIN pg_attribute a ON a.attrelid = t.typrelid
         WHERE t.oid = to_regtype(n.name) AND a.attnum > 0 AND NOT a.attisdropped) AS attributes
  FROM unnest($1::text[]) AS n(name);

-- name: ensure_partitions
-- Serialised by a transaction-level advisory lock: two workers creating the same partition
-- would otherwise race between the existence test and CREATE TABLE.
SELECT pg_advisory_xact_lock(vigil_partitions_lock_key()), vigil_ensure_check_partitions($1, $2);

-- name: maintenance_lock
-- Only one worker at a time runs maintenance; the others skip this round.
SELECT pg_try_advisory_xact_lock(vigil_maintenance_lock_key());

-- name: drop_old_partitions
SELECT vigil_drop_old_check_partitions($1);

-- name: drop_old_alerts
-- Alert history past retention ($1 days): events (their deliveries cascade) and digests that
-- are final. A delivery still pending or sending keeps its event, however old: never lost.
WITH old_digests AS (
    DELETE FROM deliveries d
     WHERE d.event_kind = 'digest' AND d.created_at < now() - make_interval(days => $1)
       AND d.status NOT IN ('pending', 'sending')
    RETURNING 1),
old_events AS (
    DELETE FROM alert_events e
     WHERE e.occurred_at < now() - make_interval(days => $1)
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.event_id = e.id AND d.status IN ('pending', 'sending'))
    RETURNING 1)
SELECT (SELECT count(*) FROM old_events)::integer, (SELECT count(*) FROM old_digests)::integer;

-- name: drop_old_occurrences
-- Maintenance occurrences that ended more than $1 days ago (longer than any uptime window or
-- status page looks back).
WITH gone AS (
    DELETE FROM maintenance_occurrences WHERE ends_at < now() - make_interval(days => $1)
    RETURNING 1)
SELECT count(*)::integer FROM gone;

-- name: drop_old_credentials
-- Sessions that ended (expired or logged out) a day ago, failed logins older than the rate
-- limit's window by far, and audit rows past the audit retention ($1 days).
WITH old_sessions AS (
    DELETE FROM sessions
     WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'
    RETURNING 1),
old_failures AS (
    DELETE FROM login_failures WHERE at < now() - interval '1 day' RETURNING 1),
old_audit AS (
    DELETE FROM audit_log WHERE at < now() - make_interval(days => $1) RETURNING 1)
SELECT (SELECT count(*) FROM old_sessions)::integer, (SELECT count(*) FROM old_audit)::integer,
       (SELECT count(*) FROM old_failures)::integer;
