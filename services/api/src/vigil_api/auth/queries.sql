-- Credentials, sessions and logins (vigil_api.auth).

-- name: token_used
-- $2: the hash under the current key (a token found under an older key is re-keyed on use).
UPDATE api_tokens SET last_used_at = now(), hash = $2 WHERE id = $1;

-- name: find_session
SELECT s.id, s.user_id, s.hash, s.expires_at, s.revoked_at, s.last_seen_at, u.name, u.role,
       now() AS now
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE s.hash = ANY ($1::bytea[]);

-- name: session_seen
UPDATE sessions SET last_seen_at = now(), hash = $2 WHERE id = $1;

-- name: insert_session
INSERT INTO sessions (hash, user_id, expires_at, address, user_agent)
VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)
RETURNING id;

-- name: revoke_session
UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL;

-- name: login_user
SELECT id, name, role, password_hash FROM users WHERE name = $1;

-- name: user_logged_in
UPDATE users SET last_login_at = now() WHERE id = $1;

-- name: rehash_password
UPDATE users SET password_hash = $2 WHERE id = $1;

-- name: login_failures
-- Failures within the window for this user name and for this address, and when the oldest of
-- each leaves the window.
SELECT count(*) FILTER (WHERE username = $1) AS by_user,
       count(*) FILTER (WHERE address = $2) AS by_address,
       min(at) FILTER (WHERE username = $1) AS user_oldest,
       min(at) FILTER (WHERE address = $2) AS address_oldest,
       now() AS now
  FROM login_failures
 WHERE (username = $1 OR address = $2) AND at > now() - make_interval(secs => $3);

-- name: record_login_failure
INSERT INTO login_failures (username, address) VALUES ($1, $2);

-- name: clear_login_failures
DELETE FROM login_failures WHERE username = $1;

-- name: audit
-- $1 is the context's JSON text (::text first, so the jsonb codec does not quote it again).
SELECT vigil_audit($1::text::jsonb, $2, $3, $4, $5, NULL, $6::jsonb);

-- name: set_audit_context
SELECT set_config('vigil.audit', $1, false);

-- name: token_still_valid
SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
  FROM api_tokens WHERE id = $1;

-- name: session_still_valid
SELECT revoked_at IS NULL AND expires_at > now() FROM sessions WHERE id = $1;
