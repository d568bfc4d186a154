-- Reads: requests. Writes: minute_metrics.
-- Per event minute x host x URL pattern x status: the table behind every count metric.
-- A row sums at most 2^23 lines (sum_part: a batch of more lines gets several partial rows,
-- which add up like shards do), and each line's bytes are below 2^40 (normalize.sql),
-- so the BIGINT casts below can never overflow.
CREATE OR REPLACE TEMP TABLE minute_metrics AS
SELECT
    date_trunc('minute', event_time) AS minute,
    host,
    url_pattern,
    status,
    -- Explicit BIGINTs: sum() gives HUGEINT, which Parquet would store as DOUBLE, not the
    -- bigint the Glue table declares.
    CAST(count(*) AS BIGINT) AS requests,
    CAST(coalesce(sum(bytes), 0) AS BIGINT) AS bytes,
    CAST(coalesce(sum(turnaround_ms), 0) AS BIGINT) AS turnaround_ms_sum,
    CAST(count(turnaround_ms) AS BIGINT) AS turnaround_count,
    CAST(coalesce(sum(transfer_ms), 0) AS BIGINT) AS transfer_ms_sum,
    CAST(count(*) FILTER (WHERE cache_status = 1) AS BIGINT) AS cache_hits,
    any_value(rules_version) AS rules_version,
    any_value(batch_id) AS batch_id,
    any_value(dt) AS dt,
    any_value(hour) AS hour
FROM requests
GROUP BY minute, host, url_pattern, status, sum_part
ORDER BY minute, host, url_pattern, status;
