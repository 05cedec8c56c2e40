-- name: lock_apply
-- Applies run one at a time, so two of them never interleave their plans (the key is named
-- in migration 0009).
SELECT pg_advisory_xact_lock(vigil_apply_lock_key());

-- name: targets_for_apply
-- The stored targets the document names, or all of them when pruning; locked until commit.
SELECT * FROM targets WHERE $2 OR name = ANY($1::text[]) ORDER BY name FOR UPDATE;
