-- The writes of targets that both the targets endpoints and apply run (target_writes.py).
-- The targets_sync trigger schedules the target and the targets_notify trigger sends the
-- NOTIFY, both in the writing statement's transaction.

-- name: insert_target
INSERT INTO targets (name, kind, address, interval_s, timeout_s, enabled, settings,
                     failure_threshold, success_threshold, labels)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: replace_target
UPDATE targets
   SET name = $2, kind = $3, address = $4, interval_s = $5, timeout_s = $6, enabled = $7,
       settings = $8, failure_threshold = $9, success_threshold = $10, labels = $11,
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: delete_target
DELETE FROM targets WHERE id = $1 RETURNING id;

-- name: lock_dependencies
-- Taken before any write of a target's dependencies, until commit: each check for a cycle
-- below then sees every edge that could close one with its own (two transactions adding A->B
-- and B->A at once would each see no cycle).
SELECT pg_advisory_xact_lock(vigil_dependencies_lock_key());

-- name: missing_targets
-- The ids of $1 that name no target.
SELECT array(SELECT unnest($1::bigint[])
              EXCEPT
             SELECT id FROM targets WHERE id = ANY ($1::bigint[])
              ORDER BY 1);

-- name: dependency_cycle
-- The first of $2 (the new dependencies of target $1) that already depends on $1, directly
-- or through others: the edge $1 -> it would close a cycle. The graph is acyclic before the
-- write (every write checks, under lock_dependencies), so a new cycle passes through $1; the
-- walk stops there, and UNION visits each (root, target) once, so it ends on any graph.
WITH RECURSIVE reach (root, id) AS (
    SELECT d, d FROM unnest($2::bigint[]) AS d
  UNION
    SELECT r.root, td.depends_on_id
      FROM reach r JOIN target_dependencies td ON td.target_id = r.id
     WHERE r.id <> $1
)
SELECT t.id, t.name
  FROM reach r JOIN targets t ON t.id = r.root
 WHERE r.id = $1
 ORDER BY t.id
 LIMIT 1;

-- name: set_dependencies
-- Target $1 depends on exactly the targets $2: the others' rows go, the new ones come.
WITH gone AS (
    DELETE FROM target_dependencies
     WHERE target_id = $1 AND depends_on_id <> ALL ($2::bigint[]))
INSERT INTO target_dependencies (target_id, depends_on_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT DO NOTHING;
