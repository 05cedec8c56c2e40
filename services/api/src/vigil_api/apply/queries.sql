-- name: lock_apply
-- Applies run one at a time, so two of them never interleave their plans.
SELECT pg_advisory_xact_lock(hashtext('vigil_apply'));

-- name: targets_for_apply
-- The stored targets the document names, or all of them when pruning; locked until commit.
SELECT * FROM targets WHERE $2 OR name = ANY($1::text[]) ORDER BY name FOR UPDATE;
