-- The valid requests of the batch, as written to requests/ (Athena table `requests`).
CREATE OR REPLACE TEMP TABLE requests AS
SELECT
    s.event_time, s.client_ip, s.method, s.host, s.path, s.query, s.status, s.bytes,
    s.turnaround_ms, s.transfer_ms, s.referer, s.user_agent, s.cache_status, s.country,
    s.error_code, s.security_rules, s.request_id, s.stream_id, s.cp_code, s.proto,
    s.content_type, s.edge_ip, p.url_pattern, s.source_format, s.object_key AS source_key,
    CAST($batch_id AS VARCHAR) AS batch_id,
    CAST($rules_version AS VARCHAR) AS rules_version,
    strftime(s.event_time, '%Y-%m-%d') AS dt,
    strftime(s.event_time, '%H') AS hour
FROM stage s JOIN path_patterns p USING (path)
WHERE s.reject_reason IS NULL;
