-- The push endpoint's SQL. Positional parameters only.

-- name: record_ping
-- One statement, one round trip: find the token by its unique index, store the ping for the
-- workers ($2 ok, $3 message, $4 duration_ms), and, for a successful ping only, move the
-- schedule so the next `missed` slot comes due interval_s + grace_s from now. The NOTIFY
-- names the target: every worker cancels a `missed` slot it holds for it (re-anchored), and
-- one of them claims the ping. A paused target's ping is answered but not stored. No row:
-- no push target has this token.
-- The commit does not wait for the WAL flush (synchronous_commit off, for this transaction
-- only): that wait was most of a ping's time (bench push, one client: p99 6.4 -> 5.0 ms). A
-- PostgreSQL crash can lose the last few hundred milliseconds of pings, never corrupt
-- anything; the worst a lost ping does is one `missed` if no other ping follows in time.
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true)
), t AS (
    SELECT t.id, t.enabled, t.interval_s, vigil_push_grace_s(t.settings) AS grace_s
      FROM push_tokens p
      JOIN targets t ON t.id = p.target_id
     WHERE p.token = $1 AND t.kind = 'push'
), ping AS (
    INSERT INTO push_pings (target_id, ok, message, duration_ms)
    SELECT id, $2, $3, $4 FROM t WHERE t.enabled
    RETURNING target_id
), moved AS (
    UPDATE schedule s
       SET anchor_at = now() + make_interval(secs => t.grace_s),
           next_check_at = now() + make_interval(secs => t.grace_s + t.interval_s)
      FROM t
     WHERE s.target_id = t.id AND t.enabled AND $2
), notified AS (
    SELECT pg_notify('vigil_push', target_id::text) FROM ping
)
SELECT t.id AS target_id, (SELECT count(*) FROM notified) > 0 AS recorded
  FROM t, async;

-- name: rotate_token
-- A new secret for a push target; the old URL stops working when this commits.
UPDATE push_tokens SET token = vigil_push_new_token(), created_at = now()
 WHERE target_id = $1
RETURNING token;

-- name: target_kind
SELECT kind FROM targets WHERE id = $1;
