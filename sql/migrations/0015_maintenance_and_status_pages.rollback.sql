-- Rolls back 0015_maintenance_and_status_pages: maintenance windows, status pages and incident
-- updates are gone, and so are the maintenance marks on checks and deliveries (roll back the
-- API and workers first).
DROP TABLE incident_updates, status_page_targets, status_page_groups, status_pages;
DROP INDEX deliveries_held_idx;
ALTER TABLE deliveries DROP COLUMN released_at, DROP COLUMN maintenance_window_id;
ALTER TABLE checks DROP COLUMN maintenance_window_id;
DROP FUNCTION vigil_target_status(boolean, text, boolean);
DROP VIEW target_maintenance;
DROP FUNCTION vigil_target_window(bigint, jsonb, timestamptz);
DROP FUNCTION vigil_maintenance_excluded_s(bigint, timestamptz, timestamptz);
DROP FUNCTION vigil_maintenance_at(timestamptz);
DROP INDEX targets_labels_idx;
DROP TABLE maintenance_occurrences, maintenance_window_targets, maintenance_windows;
DROP FUNCTION vigil_maintenance_notify();
