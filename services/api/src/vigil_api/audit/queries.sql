-- The audit log as GET /api/v1/audit reads it.

-- name: list_audit
-- Newest first by (at, id): `at` is when the writing transaction began, so the rows of one
-- apply share it and id orders them. $1/$2 is the keyset position (the last row of the
-- previous page; null for the first); [$3, $4) the time range, either end open when null;
-- $5..$9 filter by actor, actor kind, object kind, object id and action when not null.
SELECT id, at, actor, actor_kind, address, action, object_kind, object_id, object_name,
       before, after, via
  FROM audit_log
 WHERE ($1::timestamptz IS NULL OR (at, id) < ($1, $2::bigint))
   AND ($3::timestamptz IS NULL OR at >= $3)
   AND ($4::timestamptz IS NULL OR at < $4)
   AND ($5::text IS NULL OR actor = $5)
   AND ($6::text IS NULL OR actor_kind = $6)
   AND ($7::text IS NULL OR object_kind = $7)
   AND ($8::text IS NULL OR object_id = $8)
   AND ($9::text IS NULL OR action = $9)
 ORDER BY at DESC, id DESC
 LIMIT $10;
