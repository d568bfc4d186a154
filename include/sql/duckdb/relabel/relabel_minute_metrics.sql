-- Reads: history, path_patterns. Writes: minute_metrics.
-- minute_metrics again, per original batch, so each batch's file is replaced in place.
CREATE OR REPLACE TEMP TABLE minute_metrics AS
SELECT
    date_trunc('minute', h.event_time) AS minute,
    h.host,
    p.url_pattern,
    h.status,
    CAST(count(*) AS BIGINT) AS requests,
    CAST(coalesce(sum(h.bytes), 0) AS BIGINT) AS bytes,
    CAST(coalesce(sum(h.turnaround_ms), 0) AS BIGINT) AS turnaround_ms_sum,
    CAST(count(h.turnaround_ms) AS BIGINT) AS turnaround_count,
    CAST(coalesce(sum(h.transfer_ms), 0) AS BIGINT) AS transfer_ms_sum,
    CAST(count(*) FILTER (WHERE h.cache_status = 1) AS BIGINT) AS cache_hits,
    CAST($rules_version AS VARCHAR) AS rules_version,
    h.batch_id,
    h.dt,
    h.hour,
    h.batch_id AS file_batch
FROM history h JOIN path_patterns p USING (host, path)
-- At most 2^23 lines per row, as in minute_metrics.sql, so the BIGINT sums cannot overflow.
GROUP BY minute, h.host, p.url_pattern, h.status, h.batch_id, h.dt, h.hour, h.rowid // 8388608
ORDER BY minute, host, url_pattern, status;
