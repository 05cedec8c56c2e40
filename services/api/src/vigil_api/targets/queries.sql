-- name: insert_target
INSERT INTO targets (name, kind, address, interval_s, timeout_s, enabled)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: list_targets
SELECT * FROM targets ORDER BY id LIMIT $1 OFFSET $2;

-- name: get_target
SELECT * FROM targets WHERE id = $1;
