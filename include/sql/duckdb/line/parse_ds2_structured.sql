-- Reads: raw_lines, objects. Writes: parsed_ds2_structured.
-- Akamai DataStream 2, STRUCTURED: space-delimited values in the stream's configured field
-- order ($fields, bound). Missing values are '-'; list_position gives 0 for an unconfigured key.
-- Materialised (not a view) because the field order is a bound parameter.
CREATE OR REPLACE TEMP TABLE parsed_ds2_structured AS
WITH src AS (
    -- (trim/rtrim are slow on long strings; a suffix test and an RE2 search are not)
    SELECT o.object_key, o.plus_is_space, o.arrived,
           CASE WHEN suffix(l.line, chr(13)) THEN left(l.line, -1) ELSE l.line END AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds2_structured' AND l.line IS NOT NULL AND regexp_matches(l.line, '\S')
), p AS (
    SELECT *, string_split(trim(line), ' ') AS v FROM src
)
SELECT
    object_key,
    'ds2_structured' AS source_format,
    line,
    CASE WHEN len(v) < len($fields) THEN 'fewer values than the configured structured fields' END AS parse_error,
    v[nullif(list_position($fields, 'reqTimeSec'), 0)] AS time_raw,
    's' AS time_unit,
    v[nullif(list_position($fields, 'statusCode'), 0)] AS status_raw,
    v[nullif(list_position($fields, 'reqHost'), 0)] AS host,
    v[nullif(list_position($fields, 'reqMethod'), 0)] AS method,
    v[nullif(list_position($fields, 'reqPath'), 0)] AS path_raw,
    v[nullif(list_position($fields, 'queryStr'), 0)] AS query,
    v[nullif(list_position($fields, 'bytes'), 0)] AS bytes_raw,
    v[nullif(list_position($fields, 'turnAroundTimeMSec'), 0)] AS turnaround_raw,
    v[nullif(list_position($fields, 'transferTimeMSec'), 0)] AS transfer_raw,
    v[nullif(list_position($fields, 'cliIP'), 0)] AS client_ip,
    v[nullif(list_position($fields, 'referer'), 0)] AS referer_raw,
    v[nullif(list_position($fields, 'UA'), 0)] AS ua_raw,
    v[nullif(list_position($fields, 'cacheStatus'), 0)] AS cache_raw,
    v[nullif(list_position($fields, 'country'), 0)] AS country,
    v[nullif(list_position($fields, 'errorCode'), 0)] AS error_code,
    v[nullif(list_position($fields, 'securityRules'), 0)] AS security_rules,
    v[nullif(list_position($fields, 'reqId'), 0)] AS request_id,
    v[nullif(list_position($fields, 'streamId'), 0)] AS stream_id,
    v[nullif(list_position($fields, 'cp'), 0)] AS cp_code,
    v[nullif(list_position($fields, 'proto'), 0)] AS proto,
    v[nullif(list_position($fields, 'rspContentType'), 0)] AS content_type,
    v[nullif(list_position($fields, 'edgeIP'), 0)] AS edge_ip,
    plus_is_space,
    arrived
FROM p;
