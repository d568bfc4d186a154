-- Akamai DataStream 1 "raw" JSON, the original's input: nested message{...}, start in epoch ms
-- (Cloud Monitor's variant has epoch seconds with a fraction, hence time_unit 'auto').
INSERT INTO parsed
WITH src AS (
    SELECT o.object_key, o.plus_is_space, rtrim(l.line, chr(13)) AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds1_raw' AND l.line IS NOT NULL AND trim(l.line) <> ''
), j AS (
    SELECT *,
        CASE WHEN NOT json_valid(line) THEN 'not valid JSON (malformed or truncated)'
             WHEN try(json_type(line)) <> 'OBJECT' THEN 'JSON value is not an object'
        END AS parse_error
    FROM src
), r AS (
    SELECT *, CASE WHEN parse_error IS NULL THEN try(from_json(line, '{
        "reqid":"VARCHAR","cp":"VARCHAR","id":"VARCHAR","start":"VARCHAR",
        "message":{"cliIP":"VARCHAR","reqMethod":"VARCHAR","bytes":"VARCHAR","reqHost":"VARCHAR",
                   "UA":"VARCHAR","reqPath":"VARCHAR","reqQuery":"VARCHAR","status":"VARCHAR",
                   "proto":"VARCHAR","respCT":"VARCHAR"},
        "reqHdr":{"referer":"VARCHAR"},
        "netPerf":{"downloadTime":"VARCHAR","cacheStatus":"VARCHAR","edgeIP":"VARCHAR"},
        "cache":{"cacheHit":"VARCHAR"},
        "geo":{"country":"VARCHAR"},
        "waf":"JSON"}')) END AS f
    FROM j
)
SELECT object_key, 'ds1_raw', line,
       coalesce(parse_error, CASE WHEN f IS NULL THEN 'JSON fields have unexpected types' END),
       f.start, 'auto', f.message.status, f.message.reqHost, f.message.reqMethod, f.message.reqPath,
       f.message.reqQuery, f.message.bytes, NULL, f.netPerf.downloadTime, f.message.cliIP,
       f.reqHdr.referer, f.message.UA, coalesce(f.cache.cacheHit, f.netPerf.cacheStatus), f.geo.country,
       NULL, CAST(f.waf AS VARCHAR), f.reqid, f.id, f.cp, f.message.proto, f.message.respCT, f.netPerf.edgeIP,
       plus_is_space
FROM r;
