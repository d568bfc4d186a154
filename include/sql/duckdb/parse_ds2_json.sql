-- Akamai DataStream 2, JSON (NDJSON). Values are mostly strings; numbers are read as text too.
INSERT INTO parsed
WITH src AS (
    SELECT o.object_key, o.plus_is_space, rtrim(l.line, chr(13)) AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds2_json' AND l.line IS NOT NULL AND trim(l.line) <> ''
), j AS (
    SELECT *,
        CASE WHEN NOT json_valid(line) THEN 'not valid JSON (malformed or truncated)'
             WHEN try(json_type(line)) <> 'OBJECT' THEN 'JSON value is not an object'
        END AS parse_error
    FROM src
), r AS (
    SELECT *, CASE WHEN parse_error IS NULL THEN try(from_json(line, '{
        "streamId":"VARCHAR","cp":"VARCHAR","reqId":"VARCHAR","reqTimeSec":"VARCHAR","bytes":"VARCHAR",
        "cliIP":"VARCHAR","statusCode":"VARCHAR","proto":"VARCHAR","reqHost":"VARCHAR","reqMethod":"VARCHAR",
        "reqPath":"VARCHAR","rspContentType":"VARCHAR","UA":"VARCHAR","queryStr":"VARCHAR","referer":"VARCHAR",
        "turnAroundTimeMSec":"VARCHAR","transferTimeMSec":"VARCHAR","errorCode":"VARCHAR","edgeIP":"VARCHAR",
        "country":"VARCHAR","cacheStatus":"VARCHAR","securityRules":"VARCHAR"}')) END AS f
    FROM j
)
SELECT object_key, 'ds2_json', line,
       coalesce(parse_error, CASE WHEN f IS NULL THEN 'JSON fields have unexpected types' END),
       f.reqTimeSec, 's', f.statusCode, f.reqHost, f.reqMethod, f.reqPath, f.queryStr, f.bytes,
       f.turnAroundTimeMSec, f.transferTimeMSec, f.cliIP, f.referer, f.UA, f.cacheStatus, f.country,
       f.errorCode, f.securityRules, f.reqId, f.streamId, f.cp, f.proto, f.rspContentType, f.edgeIP,
       plus_is_space
FROM r;
