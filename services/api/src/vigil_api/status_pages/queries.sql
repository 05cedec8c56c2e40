-- Status pages with their groups (status_page_groups) and targets (status_page_targets), each in
-- order of position.

-- name: insert_page
INSERT INTO status_pages (slug, title, description, logo_url)
VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: replace_page
UPDATE status_pages
   SET slug = $2, title = $3, description = $4, logo_url = $5, updated_at = now()
 WHERE id = $1
RETURNING id;

-- name: lock_page
SELECT id FROM status_pages WHERE id = $1 FOR UPDATE;

-- name: clear_groups
DELETE FROM status_page_groups WHERE page_id = $1;

-- name: add_groups
-- $2: the group names in order; a group's position is its index.
INSERT INTO status_page_groups (page_id, position, name)
SELECT $1, g.pos - 1, g.name
  FROM unnest($2::text[]) WITH ORDINALITY AS g (name, pos);

-- name: add_group_targets
-- One row per (group position, target id, position in the group, display name or NULL for the
-- target's name as it is now).
INSERT INTO status_page_targets (group_id, target_id, position, display_name)
SELECT g.id, x.target_id, x.pos, coalesce(x.display_name, t.name)
  FROM unnest($2::int[], $3::bigint[], $4::int[], $5::text[])
           AS x (group_pos, target_id, pos, display_name)
  JOIN status_page_groups g ON g.page_id = $1 AND g.position = x.group_pos
  JOIN targets t ON t.id = x.target_id;

-- name: existing_targets
-- Which of these targets exist; each is held (KEY SHARE) until the page's write commits, so
-- none can be deleted in between.
SELECT id FROM targets WHERE id = ANY($1::bigint[]) FOR KEY SHARE;

-- name: pages
-- One page ($1) or every page ($1 NULL, by slug), with its groups and their targets in order.
SELECT p.*, (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', g.name,
                    'targets', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                           'target_id', st.target_id,
                                           'display_name', st.display_name)
                                       ORDER BY st.position), '[]'::jsonb)
                                  FROM status_page_targets st WHERE st.group_id = g.id))
                    ORDER BY g.position), '[]'::jsonb)
               FROM status_page_groups g WHERE g.page_id = p.id) AS groups
  FROM status_pages p
 WHERE $1::bigint IS NULL OR p.id = $1
 ORDER BY p.slug;

-- name: delete_page
DELETE FROM status_pages WHERE id = $1 RETURNING id;
