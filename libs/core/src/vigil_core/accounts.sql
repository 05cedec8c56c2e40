-- Users and API tokens, for `vigil user`, `vigil token` and the API's admin routes.

-- name: set_audit_context
SELECT set_config('vigil.audit', $1, true);

-- name: insert_user
INSERT INTO users (name, role, password_hash) VALUES ($1, $2, $3)
RETURNING id, name, role, created_at, updated_at, last_login_at;

-- name: set_password
UPDATE users SET password_hash = $2, updated_at = now() WHERE name = $1 RETURNING id;

-- name: revoke_user_sessions
UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL;

-- name: set_role
UPDATE users SET role = $2, updated_at = now() WHERE name = $1
RETURNING id, name, role, created_at, updated_at, last_login_at;

-- name: list_users
SELECT id, name, role, created_at, updated_at, last_login_at FROM users ORDER BY name;

-- name: get_user
SELECT id, name, role, created_at, updated_at, last_login_at FROM users WHERE name = $1;

-- name: delete_user
DELETE FROM users WHERE name = $1 RETURNING id;

-- name: user_count
SELECT count(*) FROM users;

-- name: admin_count
-- Locks the admins' rows: two demotions at once cannot both see a second admin.
SELECT count(*) FROM (SELECT id FROM users WHERE role = 'admin' FOR UPDATE) admins;

-- name: insert_token
INSERT INTO api_tokens (name, prefix, hash, scope, created_by, created_by_user_id, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, name, prefix, scope, created_by, created_by_user_id, created_at, expires_at,
          last_used_at, revoked_at;

-- name: list_tokens
SELECT id, name, prefix, scope, created_by, created_by_user_id, created_at, expires_at,
       last_used_at, revoked_at
  FROM api_tokens ORDER BY revoked_at IS NOT NULL, name, id DESC;

-- name: revoke_token_by_name
UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING id;

-- name: revoke_token_by_id
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id;

-- name: find_token
-- $1: the token's hash under each accepted server key (Keyring.candidates).
SELECT t.id, t.name, t.scope, t.hash, t.created_by_user_id, t.expires_at, t.revoked_at,
       u.role AS creator_role,
       (t.created_by_user_id IS NOT NULL AND u.id IS NULL) AS creator_gone
  FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by_user_id
 WHERE t.hash = ANY ($1::bytea[]);
