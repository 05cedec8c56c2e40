-- name: claim_due
-- Claims up to $2 slots due within $1 seconds and advances each to its next slot
-- (anchor + k * interval: fixed rate, no drift; missed slots are skipped, not replayed).
WITH due AS (
    SELECT s.target_id, s.next_check_at AS due_at
      FROM schedule s
     WHERE s.next_check_at <= now() + make_interval(secs => $1)
     ORDER BY s.next_check_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
)
UPDATE schedule s
   SET next_check_at = s.anchor_at + make_interval(secs => t.interval_s * (floor(
           extract(epoch FROM greatest(now(), due.due_at) - s.anchor_at) / t.interval_s + 1e-6) + 1))
  FROM due
  JOIN targets t ON t.id = due.target_id
 WHERE s.target_id = due.target_id
RETURNING t.id, t.name, t.kind, t.address, t.interval_s, t.timeout_s, t.settings, due.due_at;

-- name: next_due
SELECT min(next_check_at) FROM schedule;

-- name: insert_checks
INSERT INTO checks (target_id, checked_at, due_at, ok, latency_ms, status_code,
                    error_class, error_message, timings)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::boolean[],
                     $5::real[], $6::smallint[], $7::text[], $8::text[], $9::jsonb[]);

-- name: update_last_results
-- The newest result per target in the batch becomes the target's last result.
UPDATE target_state st
   SET last_checked_at = r.checked_at, last_ok = r.ok, last_latency_ms = r.latency_ms,
       last_status_code = r.status_code, last_error_class = r.error_class,
       last_error_message = r.error_message, updated_at = now()
  FROM (SELECT DISTINCT ON (target_id) *
          FROM unnest($1::bigint[], $2::timestamptz[], $3::boolean[], $4::real[],
                      $5::smallint[], $6::text[], $7::text[])
               AS u(target_id, checked_at, ok, latency_ms, status_code, error_class, error_message)
         ORDER BY target_id, checked_at DESC) r
 WHERE st.target_id = r.target_id
   AND (st.last_checked_at IS NULL OR st.last_checked_at <= r.checked_at);

-- name: ensure_partitions
SELECT vigil_ensure_check_partitions(1, 7);
