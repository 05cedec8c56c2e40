-- Bench-side SQL of the throughput-dns scenario (bench/scenarios/throughput_dns.py).

-- name: dns_settings
-- Every dns target asks the bench's responder ($1, ip:port) and expects its one answer.
UPDATE targets
   SET settings = jsonb_build_object('server', $1::text, 'expected', jsonb_build_array('127.0.0.1'))
 WHERE kind = 'dns';
