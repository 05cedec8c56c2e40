-- More kinds of check: dns (resolve a name), tls (a certificate's chain and expiry) and push
-- (heartbeats sent to Vigil), and a place for what a check found besides its verdict.

-- 1. The kinds, and each one's address: dns resolves the address as a name (the server is a
--    setting); tls connects to host:port like tcp; a push target has no address of its own
--    (its secret URL is in push_tokens, 0013), so it stores the word `push`.
ALTER TABLE targets DROP CONSTRAINT targets_kind_valid;
ALTER TABLE targets ADD CONSTRAINT targets_kind_valid
    CHECK (kind IN ('http', 'tcp', 'icmp', 'dns', 'tls', 'push'));
ALTER TABLE targets DROP CONSTRAINT targets_address_valid;
ALTER TABLE targets ADD CONSTRAINT targets_address_valid CHECK (
    char_length(address) BETWEEN 1 AND 2048
    AND address !~ '\s'
    AND CASE kind
        WHEN 'http' THEN address ~* '^https?://[^/?#]+'
        -- host:port, with IPv6 literals in brackets; the port is 1..65535
        WHEN 'tcp'  THEN address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'
                     AND substring(address from ':([0-9]{1,5})$')::integer BETWEEN 1 AND 65535
        WHEN 'tls'  THEN address ~ '^(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5}$'
                     AND substring(address from ':([0-9]{1,5})$')::integer BETWEEN 1 AND 65535
        WHEN 'icmp' THEN address ~ '^[^/\[\]]+$'
        WHEN 'dns'  THEN address ~ '^[^/\[\]:]+$' AND char_length(address) <= 254
        WHEN 'push' THEN address = 'push'
        ELSE true  -- an unknown kind is targets_kind_valid's to reject
    END);

-- 2. What a check found besides ok/latency/status: a DNS check's answers, a certificate's
--    subject, issuer, SANs and expiry. NULL for most checks; a JSON object otherwise. Adding a
--    nullable column without a default rewrites no partition.
ALTER TABLE checks ADD COLUMN details jsonb;
ALTER TABLE checks ADD CONSTRAINT checks_details_object
    CHECK (details IS NULL OR jsonb_typeof(details) = 'object');
