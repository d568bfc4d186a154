-- Reads: the parsed_* views and parsed_unreadable. Writes: stage (every line, valid or not).
-- Type and check every parsed line with the macros of macros.sql (the metrics scan and the
-- archive use the same ones): valid when request_problem() is NULL. Everything else is
-- kept as text (NULL when absent, '-' or '^').
-- The one materialisation of the line path: JSON is parsed exactly once, here.
CREATE OR REPLACE TEMP TABLE stage AS
WITH parsed AS (
    SELECT * FROM parsed_ds2_json
    UNION ALL BY NAME SELECT * FROM parsed_ds1_raw
    UNION ALL BY NAME SELECT * FROM parsed_ds2_structured
    UNION ALL BY NAME SELECT * FROM parsed_unreadable
), typed AS (
    SELECT *, event_micros(time_raw, time_unit) AS t_micros FROM parsed
), checked AS (
SELECT
    object_key,
    source_format,
    request_problem(parse_error, time_raw, t_micros, status_raw, host, bytes_raw, turnaround_raw,
                    transfer_raw, arrived, $max_age_us, $max_ahead_us) AS reject_reason,
    line AS line_all,
    event_time(t_micros) AS event_time,
    nv(client_ip) AS client_ip,
    nv(method) AS method,
    req_host(host) AS host,
    req_path(path_raw) AS path_raw,
    nv(query) AS query_raw,
    req_status(status_raw) AS status,
    req_bytes(bytes_raw) AS bytes,
    req_ms(turnaround_raw) AS turnaround_ms,
    req_ms(transfer_raw) AS transfer_ms,
    nv(referer_raw) AS referer_raw,
    nv(ua_raw) AS ua_raw,
    plus_is_space,
    req_cache(cache_raw) AS cache_status,
    nv(country) AS country,
    nv(error_code) AS error_code,
    nv(security_rules) AS security_rules,
    nv(request_id) AS request_id,
    nv(stream_id) AS stream_id,
    nv(cp_code) AS cp_code,
    nv(proto) AS proto,
    nv(content_type) AS content_type,
    nv(edge_ip) AS edge_ip
FROM typed
)
-- Keep the raw text of rejected lines only: valid ones live on as typed columns.
SELECT * EXCLUDE (line_all), CASE WHEN reject_reason IS NOT NULL THEN line_all END AS line
FROM checked;
