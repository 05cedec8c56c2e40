-- Rolls back 0011_alerting: the alert trigger, its functions and every alerting table, with
-- their rows (channels, routes, dependencies, events and deliveries are gone).
DROP FUNCTION vigil_delivery_blocked(text, bigint, bigint);
DROP FUNCTION vigil_dependencies_lock_key();
DROP TRIGGER incidents_alert ON incidents;
DROP FUNCTION vigil_incidents_alert();
DROP FUNCTION vigil_alert_resolved(targets, incidents);
DROP FUNCTION vigil_alert_firing(targets, incidents);
DROP FUNCTION vigil_alert_payload(text, targets, incidents, timestamptz);
DROP TABLE deliveries;
DROP TABLE alert_events;
DROP TABLE target_dependencies;
DROP TABLE route_channels;
DROP TABLE routes;
DROP TABLE channels;
