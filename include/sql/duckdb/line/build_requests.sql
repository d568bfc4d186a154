-- Reads: stage, path_patterns, text_decoded. Writes: batch_meta, the view requests.
-- The valid requests of the batch, as written to requests/ (Athena table `requests`).
-- A view: Parquet, minute_metrics and the latency distribution each read it once.
-- (Views cannot hold parameters, hence the one-row batch_meta table.)
CREATE OR REPLACE TEMP TABLE batch_meta AS
SELECT CAST($batch_id AS VARCHAR) AS batch_id, CAST($rules_version AS VARCHAR) AS rules_version;
CREATE OR REPLACE TEMP VIEW requests AS
SELECT
    s.event_time, s.client_ip, s.method, host, p.path, q.value AS query, s.status, s.bytes,
    s.turnaround_ms, s.transfer_ms, r.value AS referer, u.value AS user_agent, s.cache_status,
    s.country, s.error_code, s.security_rules, s.request_id, s.stream_id, s.cp_code, s.proto,
    s.content_type, s.edge_ip, p.url_pattern, s.source_format, s.object_key AS source_key,
    m.batch_id, m.rules_version,
    strftime(s.event_time, '%Y-%m-%d') AS dt,
    strftime(s.event_time, '%H') AS hour,
    -- Not archived (aggregate.py leaves it out): bounds how many lines a minute_metrics row sums.
    s.rowid // 8388608 AS sum_part
FROM stage s
JOIN path_patterns p USING (host, path_raw)
LEFT JOIN text_decoded u ON u.raw = s.ua_raw AND u.plus = s.plus_is_space
LEFT JOIN text_decoded r ON r.raw = s.referer_raw AND r.plus = s.plus_is_space
LEFT JOIN text_decoded q ON q.raw = s.query_raw AND q.plus = s.plus_is_space
CROSS JOIN batch_meta m
WHERE s.reject_reason IS NULL;
