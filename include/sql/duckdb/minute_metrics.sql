-- Per event minute x host x URL pattern x status: the table behind every count metric.
CREATE OR REPLACE TEMP TABLE minute_metrics AS
SELECT
    date_trunc('minute', event_time) AS minute,
    host,
    url_pattern,
    status,
    count(*) AS requests,
    coalesce(sum(bytes), 0) AS bytes,
    coalesce(sum(turnaround_ms), 0) AS turnaround_ms_sum,
    count(turnaround_ms) AS turnaround_count,
    coalesce(sum(transfer_ms), 0) AS transfer_ms_sum,
    count(*) FILTER (WHERE cache_status = 1) AS cache_hits,
    any_value(rules_version) AS rules_version,
    any_value(batch_id) AS batch_id,
    any_value(dt) AS dt,
    any_value(hour) AS hour
FROM requests
GROUP BY ALL
ORDER BY minute, host, url_pattern, status;
