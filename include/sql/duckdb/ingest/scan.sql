-- Reads: the given local files ($ds2_files: DataStream 2 JSON, $ds1_files: DataStream 1
-- raw JSON; each list holds at least an empty placeholder). Writes: scan_partials.
-- The metrics path: one narrow read_json pass, reduced at once to the partial sums of
-- create_scan.sql; no line is kept. A malformed line comes back as a row of NULLs (it
-- is not dropped), so every line is counted and every file with a line that is not a
-- valid request is known: those files go through the line path instead (their 'g' and
-- 'l' rows are taken out again by a second pass over just them, with $sign = -1).
-- DS1's columns are its whole schema, as in parse_ds1_raw.sql, so that a field of the
-- wrong type fails here exactly as it does there.
INSERT INTO scan_partials
WITH ds2 AS (
    SELECT filename AS local_file, 's' AS unit, reqTimeSec AS time_raw, statusCode AS status_raw,
           reqHost AS host_raw, reqPath AS path_raw, bytes AS bytes_raw, turnAroundTimeMSec AS turnaround_raw,
           transferTimeMSec AS transfer_raw, cacheStatus AS cache_raw
    FROM read_json($ds2_files, format = 'newline_delimited', ignore_errors = true, filename = true,
        columns = {reqTimeSec: 'VARCHAR', statusCode: 'VARCHAR', reqHost: 'VARCHAR', reqPath: 'VARCHAR',
                   bytes: 'VARCHAR', turnAroundTimeMSec: 'VARCHAR', transferTimeMSec: 'VARCHAR',
                   cacheStatus: 'VARCHAR'})
), ds1 AS (
    SELECT filename AS local_file, 'auto' AS unit, "start" AS time_raw, message.status AS status_raw,
           message.reqHost AS host_raw, message.reqPath AS path_raw, message.bytes AS bytes_raw,
           NULL AS turnaround_raw, netPerf.downloadTime AS transfer_raw,
           coalesce("cache".cacheHit, netPerf.cacheStatus) AS cache_raw
    FROM read_json($ds1_files, format = 'newline_delimited', ignore_errors = true, filename = true,
        columns = {reqid: 'VARCHAR', cp: 'VARCHAR', id: 'VARCHAR', "start": 'VARCHAR',
                   message: 'STRUCT(cliIP VARCHAR, reqMethod VARCHAR, bytes VARCHAR, reqHost VARCHAR, UA VARCHAR,
                            reqPath VARCHAR, reqQuery VARCHAR, status VARCHAR, proto VARCHAR, respCT VARCHAR)',
                   reqHdr: 'STRUCT(referer VARCHAR)',
                   netPerf: 'STRUCT(downloadTime VARCHAR, cacheStatus VARCHAR, edgeIP VARCHAR)',
                   "cache": 'STRUCT(cacheHit VARCHAR)', geo: 'STRUCT(country VARCHAR)', waf: 'JSON'})
), typed AS (
    SELECT local_file, host_raw, path_raw, status_raw, bytes_raw, turnaround_raw, transfer_raw, cache_raw,
           event_micros(time_raw, unit) AS t_micros,
           request_problem(NULL, time_raw, event_micros(time_raw, unit), status_raw, host_raw, bytes_raw,
                           turnaround_raw, transfer_raw, CAST(NULL AS TIMESTAMPTZ), 0, 0) IS NULL AS ok
    FROM (SELECT * FROM ds2 UNION ALL SELECT * FROM ds1)
), v AS (
    SELECT local_file, ok, t_micros,
           CASE WHEN ok THEN CAST(round(t_micros) AS BIGINT) // 60000000 END AS minute_us,
           CASE WHEN ok THEN req_host(host_raw) END AS host,
           CASE WHEN ok THEN req_path(path_raw) END AS path_raw,
           CASE WHEN ok THEN req_status(status_raw) END AS status,
           CASE WHEN ok THEN req_ms(turnaround_raw) END AS turnaround_ms,
           req_bytes(bytes_raw) AS bytes, req_ms(transfer_raw) AS transfer_ms, req_cache(cache_raw) AS cache_status
    FROM typed
)
SELECT
    CASE GROUPING(local_file) WHEN 0 THEN 'f' ELSE CASE GROUPING(path_raw) WHEN 0 THEN 'g' ELSE 'l' END END AS kind,
    local_file, minute_us, host, path_raw, status,
    CASE GROUPING(turnaround_ms) WHEN 0 THEN turnaround_ms END AS turnaround_ms,
    $sign * count(*) FILTER (WHERE ok) AS requests,
    $sign * coalesce(sum(bytes) FILTER (WHERE ok), 0) AS bytes,
    $sign * coalesce(sum(turnaround_ms) FILTER (WHERE ok), 0) AS turnaround_ms_sum,
    $sign * count(turnaround_ms) FILTER (WHERE ok) AS turnaround_count,
    $sign * coalesce(sum(transfer_ms) FILTER (WHERE ok), 0) AS transfer_ms_sum,
    $sign * count(*) FILTER (WHERE ok AND cache_status = 1) AS cache_hits,
    count(*) AS lines,
    count(*) FILTER (WHERE NOT ok) AS bad,
    min(t_micros) FILTER (WHERE ok) AS first_us,
    max(t_micros) FILTER (WHERE ok) AS last_us
FROM v
GROUP BY GROUPING SETS ((local_file), (minute_us, host, path_raw, status), (minute_us, host, turnaround_ms));
