-- Rolls back 0014_auth: users, tokens, sessions and the audit log are gone.
DROP TRIGGER targets_audit ON targets;
DROP TRIGGER target_dependencies_audit ON target_dependencies;
DROP TRIGGER channels_audit ON channels;
DROP TRIGGER routes_audit ON routes;
DROP TRIGGER route_channels_audit ON route_channels;
DROP TRIGGER push_tokens_audit ON push_tokens;
DROP TRIGGER deliveries_audit ON deliveries;
DROP TABLE audit_log, login_failures, sessions, api_tokens, users;
DROP FUNCTION vigil_auth_changed();
DROP FUNCTION vigil_audit_row();
DROP FUNCTION vigil_audit_mask(text, jsonb);
DROP FUNCTION vigil_audit(jsonb, text, text, text, text, jsonb, jsonb);
CREATE OR REPLACE FUNCTION vigil_alert_payload(event text, t targets, i incidents, at timestamptz)
    RETURNS jsonb LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'event', event,
        'target', jsonb_build_object('id', t.id, 'name', t.name, 'kind', t.kind,
                                     'address', t.address, 'labels', t.labels),
        'incident', jsonb_build_object('id', i.id, 'started_at', i.started_at,
                                       'ended_at', i.ended_at, 'cause', i.cause),
        'occurred_at', at)
$$;
DROP FUNCTION vigil_mask_address(text);
