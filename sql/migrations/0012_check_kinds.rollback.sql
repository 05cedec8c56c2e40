-- Rolls back 0012_check_kinds: targets of the new kinds are deleted (their checks and history
-- with them), and the checks' details are dropped.
ALTER TABLE checks DROP CONSTRAINT checks_details_object;
ALTER TABLE checks DROP COLUMN details;
DELETE FROM targets WHERE kind IN ('dns', 'tls', 'push');
ALTER TABLE targets DROP CONSTRAINT targets_address_valid;
ALTER TABLE targets ADD CONSTRAINT targets_address_valid CHECK (
    char_length(address) BETWEEN 1 AND 2048
    AND address !~ '\s'
    AND CASE kind
        WHEN 'http' THEN address ~* '^https?://[^/?#]+'
        WHEN 'tcp'  THEN address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'
                     AND substring(address from ':([0-9]{1,5})$')::integer BETWEEN 1 AND 65535
        WHEN 'icmp' THEN address ~ '^[^/\[\]]+$'
        ELSE true
    END);
ALTER TABLE targets DROP CONSTRAINT targets_kind_valid;
ALTER TABLE targets ADD CONSTRAINT targets_kind_valid CHECK (kind IN ('http', 'tcp', 'icmp'));
