-- Reads: raw_lines, objects. Writes: the view parsed_ds2_json.
-- Akamai DataStream 2, JSON (NDJSON). Values are mostly strings; numbers are read as text too.
CREATE OR REPLACE TEMP VIEW parsed_ds2_json AS
WITH src AS (
    -- (trim/rtrim are slow on long strings; a suffix test and an RE2 search are not)
    SELECT o.object_key, o.plus_is_space, o.arrived,
           CASE WHEN suffix(l.line, chr(13)) THEN left(l.line, -1) ELSE l.line END AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds2_json' AND l.line IS NOT NULL AND regexp_matches(l.line, '\S')
), r AS (
    -- Parse once; only lines that fail are looked at again to name the reason.
    SELECT *, try(from_json(line, '{
        "streamId":"VARCHAR","cp":"VARCHAR","reqId":"VARCHAR","reqTimeSec":"VARCHAR","bytes":"VARCHAR",
        "cliIP":"VARCHAR","statusCode":"VARCHAR","proto":"VARCHAR","reqHost":"VARCHAR","reqMethod":"VARCHAR",
        "reqPath":"VARCHAR","rspContentType":"VARCHAR","UA":"VARCHAR","queryStr":"VARCHAR","referer":"VARCHAR",
        "turnAroundTimeMSec":"VARCHAR","transferTimeMSec":"VARCHAR","errorCode":"VARCHAR","edgeIP":"VARCHAR",
        "country":"VARCHAR","cacheStatus":"VARCHAR","securityRules":"VARCHAR"}')) AS f
    FROM src
), j AS (
    SELECT *, json_parse_error(line, f) AS parse_error FROM r
)
SELECT
    object_key,
    'ds2_json' AS source_format,
    line,
    parse_error AS parse_error,
    f.reqTimeSec AS time_raw,
    's' AS time_unit,
    f.statusCode AS status_raw,
    f.reqHost AS host,
    f.reqMethod AS method,
    f.reqPath AS path_raw,
    f.queryStr AS query,
    f.bytes AS bytes_raw,
    f.turnAroundTimeMSec AS turnaround_raw,
    f.transferTimeMSec AS transfer_raw,
    f.cliIP AS client_ip,
    f.referer AS referer_raw,
    f.UA AS ua_raw,
    f.cacheStatus AS cache_raw,
    f.country AS country,
    f.errorCode AS error_code,
    f.securityRules AS security_rules,
    f.reqId AS request_id,
    f.streamId AS stream_id,
    f.cp AS cp_code,
    f.proto AS proto,
    f.rspContentType AS content_type,
    f.edgeIP AS edge_ip,
    plus_is_space,
    arrived
FROM j;
