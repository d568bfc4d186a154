-- Reads: raw_lines, objects. Writes: the view parsed_ds1_raw.
-- Akamai DataStream 1 "raw" JSON, the original's input: nested message{...}, start in epoch ms
-- (Cloud Monitor's variant has epoch seconds with a fraction, hence time_unit 'auto').
CREATE OR REPLACE TEMP VIEW parsed_ds1_raw AS
WITH src AS (
    -- (trim/rtrim are slow on long strings; a suffix test and an RE2 search are not)
    SELECT o.object_key, o.plus_is_space, o.arrived,
           CASE WHEN suffix(l.line, chr(13)) THEN left(l.line, -1) ELSE l.line END AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds1_raw' AND l.line IS NOT NULL AND regexp_matches(l.line, '\S')
), r AS (
    -- Parse once; only lines that fail are looked at again to name the reason.
    SELECT *, try(from_json(line, '{
        "reqid":"VARCHAR","cp":"VARCHAR","id":"VARCHAR","start":"VARCHAR",
        "message":{"cliIP":"VARCHAR","reqMethod":"VARCHAR","bytes":"VARCHAR","reqHost":"VARCHAR",
                   "UA":"VARCHAR","reqPath":"VARCHAR","reqQuery":"VARCHAR","status":"VARCHAR",
                   "proto":"VARCHAR","respCT":"VARCHAR"},
        "reqHdr":{"referer":"VARCHAR"},
        "netPerf":{"downloadTime":"VARCHAR","cacheStatus":"VARCHAR","edgeIP":"VARCHAR"},
        "cache":{"cacheHit":"VARCHAR"},
        "geo":{"country":"VARCHAR"},
        "waf":"JSON"}')) AS f
    FROM src
), j AS (
    SELECT *, json_parse_error(line, f) AS parse_error FROM r
)
SELECT
    object_key,
    'ds1_raw' AS source_format,
    line,
    parse_error AS parse_error,
    f.start AS time_raw,
    'auto' AS time_unit,
    f.message.status AS status_raw,
    f.message.reqHost AS host,
    f.message.reqMethod AS method,
    f.message.reqPath AS path_raw,
    f.message.reqQuery AS query,
    f.message.bytes AS bytes_raw,
    NULL AS turnaround_raw,
    f.netPerf.downloadTime AS transfer_raw,
    f.message.cliIP AS client_ip,
    f.reqHdr.referer AS referer_raw,
    f.message.UA AS ua_raw,
    coalesce(f.cache.cacheHit, f.netPerf.cacheStatus) AS cache_raw,
    f.geo.country AS country,
    NULL AS error_code,
    CAST(f.waf AS VARCHAR) AS security_rules,
    f.reqid AS request_id,
    f.id AS stream_id,
    f.cp AS cp_code,
    f.message.proto AS proto,
    f.message.respCT AS content_type,
    f.netPerf.edgeIP AS edge_ip,
    plus_is_space,
    arrived
FROM j;
