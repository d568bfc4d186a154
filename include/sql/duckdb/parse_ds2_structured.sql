-- Akamai DataStream 2, STRUCTURED: space-delimited values in the stream's configured field
-- order ($fields, bound). Missing values are '-'; list_position gives 0 for an unconfigured key.
INSERT INTO parsed
WITH src AS (
    SELECT o.object_key, o.plus_is_space, rtrim(l.line, chr(13)) AS line
    FROM raw_lines l JOIN objects o USING (local_file)
    WHERE o.format = 'ds2_structured' AND l.line IS NOT NULL AND trim(l.line) <> ''
), p AS (
    SELECT *, string_split(trim(line), ' ') AS v FROM src
)
SELECT object_key, 'ds2_structured', line,
       CASE WHEN len(v) < len($fields) THEN 'fewer values than the configured structured fields' END,
       v[nullif(list_position($fields, 'reqTimeSec'), 0)], 's',
       v[nullif(list_position($fields, 'statusCode'), 0)],
       v[nullif(list_position($fields, 'reqHost'), 0)],
       v[nullif(list_position($fields, 'reqMethod'), 0)],
       v[nullif(list_position($fields, 'reqPath'), 0)],
       v[nullif(list_position($fields, 'queryStr'), 0)],
       v[nullif(list_position($fields, 'bytes'), 0)],
       v[nullif(list_position($fields, 'turnAroundTimeMSec'), 0)],
       v[nullif(list_position($fields, 'transferTimeMSec'), 0)],
       v[nullif(list_position($fields, 'cliIP'), 0)],
       v[nullif(list_position($fields, 'referer'), 0)],
       v[nullif(list_position($fields, 'UA'), 0)],
       v[nullif(list_position($fields, 'cacheStatus'), 0)],
       v[nullif(list_position($fields, 'country'), 0)],
       v[nullif(list_position($fields, 'errorCode'), 0)],
       v[nullif(list_position($fields, 'securityRules'), 0)],
       v[nullif(list_position($fields, 'reqId'), 0)],
       v[nullif(list_position($fields, 'streamId'), 0)],
       v[nullif(list_position($fields, 'cp'), 0)],
       v[nullif(list_position($fields, 'proto'), 0)],
       v[nullif(list_position($fields, 'rspContentType'), 0)],
       v[nullif(list_position($fields, 'edgeIP'), 0)],
       plus_is_space
FROM p;
