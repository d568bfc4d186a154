-- Reads: the parsed_* views and parsed_unreadable. Writes: stage (every line, valid or not).
-- Type and check every parsed line. A line is valid when it has a numeric time within the
-- accepted spread around its object's arrival (max_age_us before to max_ahead_us after,
-- when the arrival is known), a status, a host, and byte and latency values, where present,
-- in sane ranges; everything else is kept as text (NULL when absent, '-' or '^').
-- The ranges bound every sum: a byte count is below 2^40 (1 TiB) and minute_metrics.sql
-- sums at most 2^23 lines per row, so no sum can reach 2^63 (past a BIGINT).
CREATE OR REPLACE TEMP MACRO nv(x) AS CASE WHEN x IN ('', '-', '^') THEN NULL ELSE x END;
-- The one materialisation of the batch: JSON is parsed exactly once, here.
CREATE OR REPLACE TEMP TABLE stage AS
WITH parsed AS (
    SELECT * FROM parsed_ds2_json
    UNION ALL BY NAME SELECT * FROM parsed_ds1_raw
    UNION ALL BY NAME SELECT * FROM parsed_ds2_structured
    UNION ALL BY NAME SELECT * FROM parsed_unreadable
), t AS (
    SELECT *,
        nv(time_raw) AS t_raw,
        try_cast(nv(time_raw) AS DOUBLE) AS t_num,
        try_cast(nv(status_raw) AS INTEGER) AS status,
        nv(host) AS host_v,
        nv(path_raw) AS path_v,
        try_cast(nv(bytes_raw) AS DOUBLE) AS bytes_num,
        try_cast(nv(turnaround_raw) AS DOUBLE) AS tat_num,
        try_cast(nv(transfer_raw) AS DOUBLE) AS xfer_num
    FROM parsed
), typed AS (
    SELECT *,
        CASE WHEN t_num IS NULL OR isnan(t_num) OR isinf(t_num) THEN NULL
             WHEN time_unit = 'ms' OR (time_unit = 'auto' AND t_num > 1e11) THEN t_num * 1000
             ELSE t_num * 1000000 END AS t_micros
    FROM t
), checked AS (
SELECT
    object_key,
    source_format,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN t_raw IS NULL THEN 'missing time'
        WHEN t_micros IS NULL OR t_micros < 0 OR t_micros > 32503680000000000 THEN 'non-numeric or out-of-range time'
        WHEN nv(status_raw) IS NULL THEN 'missing status'
        WHEN status IS NULL THEN 'non-numeric status'
        WHEN status < 0 OR status > 999 THEN 'status out of range (0 to 999)'
        WHEN host_v IS NULL THEN 'missing host'
        -- A host is a CloudWatch dimension value: printable ASCII, no spaces, at most 255.
        WHEN length(host_v) > 255 OR NOT regexp_full_match(host_v, '[!-~]+') THEN 'host is not a valid host name'
        -- One feed touching thousands of hours would write thousands of partitions.
        WHEN arrived IS NOT NULL AND t_micros < epoch_us(arrived) - $max_age_us
            THEN 'event time too long before the object landed (EDGESENSE_MAX_EVENT_AGE_DAYS)'
        WHEN arrived IS NOT NULL AND t_micros > epoch_us(arrived) + $max_ahead_us
            THEN 'event time too far after the object landed (EDGESENSE_MAX_EVENT_AHEAD_HOURS)'
        -- (NaN sorts above every number in DuckDB, so it fails the upper bounds.)
        WHEN bytes_num < 0 OR bytes_num >= 1099511627776 THEN 'bytes out of range (0 to 1 TiB)'
        WHEN tat_num < 0 OR tat_num > 86400000 THEN 'turnAroundTimeMSec out of range (0 to 1 day)'
        WHEN xfer_num < 0 OR xfer_num > 86400000 THEN 'transferTimeMSec out of range (0 to 1 day)'
    END AS reject_reason,
    line AS line_all,
    CASE WHEN t_micros BETWEEN 0 AND 32503680000000000 THEN make_timestamp(CAST(round(t_micros) AS BIGINT)) END
        AS event_time,
    nv(client_ip) AS client_ip,
    nv(method) AS method,
    lower(host_v) AS host,
    -- Percent-decoding happens once per distinct value (match_patterns.sql, decode_text.sql).
    CASE WHEN path_v IS NULL THEN '/' WHEN starts_with(path_v, '/') THEN path_v ELSE '/' || path_v END AS path_raw,
    nv(query) AS query_raw,
    status,
    try_cast(nv(bytes_raw) AS BIGINT) AS bytes,
    try_cast(try_cast(nv(turnaround_raw) AS DOUBLE) AS INTEGER) AS turnaround_ms,
    try_cast(try_cast(nv(transfer_raw) AS DOUBLE) AS INTEGER) AS transfer_ms,
    nv(referer_raw) AS referer_raw,
    nv(ua_raw) AS ua_raw,
    plus_is_space,
    try_cast(nv(cache_raw) AS INTEGER) AS cache_status,
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
