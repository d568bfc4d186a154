-- Type and check every parsed line. A line is valid when it has a numeric time, a numeric
-- status and a host; everything else is kept as text (NULL when absent, '-' or '^').
CREATE OR REPLACE TEMP MACRO nv(x) AS CASE WHEN x IN ('', '-', '^') THEN NULL ELSE x END;
CREATE OR REPLACE TEMP MACRO pct_decode(x, plus) AS
    coalesce(try(url_decode(CASE WHEN plus THEN replace(x, '+', ' ') ELSE x END)), x);
CREATE OR REPLACE TEMP TABLE stage AS
WITH t AS (
    SELECT *,
        nv(time_raw) AS t_raw,
        try_cast(nv(time_raw) AS DOUBLE) AS t_num,
        try_cast(nv(status_raw) AS INTEGER) AS status,
        nv(host) AS host_v,
        nv(path_raw) AS path_v
    FROM parsed
), typed AS (
    SELECT *,
        CASE WHEN t_num IS NULL OR isnan(t_num) OR isinf(t_num) THEN NULL
             WHEN time_unit = 'ms' OR (time_unit = 'auto' AND t_num > 1e11) THEN t_num * 1000
             ELSE t_num * 1000000 END AS t_micros
    FROM t
)
SELECT
    object_key,
    source_format,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN t_raw IS NULL THEN 'missing time'
        WHEN t_micros IS NULL OR t_micros < 0 OR t_micros > 32503680000000000 THEN 'non-numeric or out-of-range time'
        WHEN nv(status_raw) IS NULL THEN 'missing status'
        WHEN status IS NULL OR status < 0 OR status > 999 THEN 'non-numeric status'
        WHEN host_v IS NULL THEN 'missing host'
    END AS reject_reason,
    line,
    CASE WHEN t_micros BETWEEN 0 AND 32503680000000000 THEN make_timestamp(CAST(round(t_micros) AS BIGINT)) END
        AS event_time,
    nv(client_ip) AS client_ip,
    nv(method) AS method,
    lower(host_v) AS host,
    CASE WHEN path_v IS NULL THEN '/'
         ELSE pct_decode(CASE WHEN starts_with(path_v, '/') THEN path_v ELSE '/' || path_v END, false)
    END AS path,
    pct_decode(nv(query), plus_is_space) AS query,
    status,
    try_cast(nv(bytes_raw) AS BIGINT) AS bytes,
    try_cast(try_cast(nv(turnaround_raw) AS DOUBLE) AS INTEGER) AS turnaround_ms,
    try_cast(try_cast(nv(transfer_raw) AS DOUBLE) AS INTEGER) AS transfer_ms,
    pct_decode(nv(referer_raw), plus_is_space) AS referer,
    pct_decode(nv(ua_raw), plus_is_space) AS user_agent,
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
FROM typed;
