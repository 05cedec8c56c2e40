-- The row type of a flush's state update (the worker's store_batch): the batch goes to
-- Postgres as one array of these rows instead of an array per column. asyncpg checks every
-- element of an array it encodes for being a nested array, an isinstance() against an ABC:
-- 19 arrays of 5,000 values were 95,000 such checks per flush, about a third of the worker's
-- time encoding it. Fields in the order of results._state_row.
CREATE TYPE vigil_state_flush AS (
    target_id        bigint,
    status           text,
    since            timestamptz,
    consecutive_ok   integer,
    consecutive_fail integer,
    checked_at       timestamptz,
    ok               boolean,
    latency_ms       real,
    status_code      smallint,
    error_class      text,
    error_message    text,
    tls_expires_at   timestamptz,
    cur_hour         timestamptz,
    checks           integer,
    ok_checks        integer,
    latency_sum_ms   double precision,
    latency_max_ms   real,
    latency_count    integer,
    latency_buckets  text  -- '{0,1,...}', cast to integer[] in the statement
);
