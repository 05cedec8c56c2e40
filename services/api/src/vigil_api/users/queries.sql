-- Users, beyond what vigil_core.accounts does for the CLI and the API alike.

-- name: lock_admins
-- The admins, locked until the transaction ends: two requests demoting or deleting the last two
-- admins at once would each count two and leave none. A request that waited reads the rows
-- again (READ COMMITTED), so it sees the other's change.
SELECT name FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE;
