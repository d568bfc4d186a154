-- Reads: the given files. Writes: scan_partials.
-- The files are bound lists, ds2_files (DataStream 2 JSON) and ds1_files (DataStream 1 raw
-- JSON); each holds at least an empty placeholder.
-- The metrics path: one narrow read_json pass, reduced at once to the partial sums of
-- create_scan.sql; no line is kept. The read is strict: a line that is not one JSON object
-- of the expected shape fails the scan, and the file goes to the line path (Scanner.scan
-- finds it by scanning each file alone). An object without a valid time lands in a group
-- with no minute. Only the value ranges are checked per line (one count); a group's
-- keys say the rest, so whether all its lines are valid requests is decided per group
-- (ingest/scan_valid.sql, with the rules of request_problem in macros.sql). A batch with an
-- invalid group is scanned again with by_file set, to find the files the line path takes.
-- DS1's columns are its whole schema, as in parse_ds1_raw.sql, so that a field of the
-- wrong type fails here exactly as it does there.
INSERT INTO scan_partials
WITH ds2 AS (
    SELECT filename AS local_file, 's' AS unit, reqTimeSec AS time_raw, statusCode AS status_raw,
           reqHost AS host_raw, reqPath AS path_raw, bytes AS bytes_raw, turnAroundTimeMSec AS turnaround_raw,
           transferTimeMSec AS transfer_raw, cacheStatus AS cache_raw
    FROM read_json($ds2_files, format = 'newline_delimited', ignore_errors = false, filename = true,
        columns = {reqTimeSec: 'VARCHAR', statusCode: 'VARCHAR', reqHost: 'VARCHAR', reqPath: 'VARCHAR',
                   bytes: 'VARCHAR', turnAroundTimeMSec: 'VARCHAR', transferTimeMSec: 'VARCHAR',
                   cacheStatus: 'VARCHAR'})
), ds1 AS (
    SELECT filename AS local_file, 'auto' AS unit, "start" AS time_raw, message.status AS status_raw,
           message.reqHost AS host_raw, message.reqPath AS path_raw, message.bytes AS bytes_raw,
           NULL AS turnaround_raw, netPerf.downloadTime AS transfer_raw,
           coalesce("cache".cacheHit, netPerf.cacheStatus) AS cache_raw
    FROM read_json($ds1_files, format = 'newline_delimited', ignore_errors = false, filename = true,
        columns = {reqid: 'VARCHAR', cp: 'VARCHAR', id: 'VARCHAR', "start": 'VARCHAR',
                   message: 'STRUCT(cliIP VARCHAR, reqMethod VARCHAR, bytes VARCHAR, reqHost VARCHAR, UA VARCHAR,
                            reqPath VARCHAR, reqQuery VARCHAR, status VARCHAR, proto VARCHAR, respCT VARCHAR)',
                   reqHdr: 'STRUCT(referer VARCHAR)',
                   netPerf: 'STRUCT(downloadTime VARCHAR, cacheStatus VARCHAR, edgeIP VARCHAR)',
                   "cache": 'STRUCT(cacheHit VARCHAR)', geo: 'STRUCT(country VARCHAR)', waf: 'JSON'})
), r AS (
    SELECT CASE WHEN $by_file THEN local_file END AS local_file, host_raw, path_raw, status_raw,
           event_micros(time_raw, unit) AS t_micros,
           try_cast(bytes_raw AS DOUBLE) AS bytes_d, req_bytes(bytes_raw) AS bytes,
           try_cast(turnaround_raw AS DOUBLE) AS turnaround_d, req_ms(turnaround_raw) AS turnaround_ms,
           try_cast(transfer_raw AS DOUBLE) AS transfer_d, req_ms(transfer_raw) AS transfer_ms,
           req_cache(cache_raw) = 1 AS hit
    FROM (SELECT * FROM ds2 UNION ALL SELECT * FROM ds1)
), v AS (
    SELECT *, CASE WHEN time_in_range(t_micros) THEN CAST(round(t_micros) AS BIGINT) // 60000000 END AS minute_us
    FROM r
)
SELECT
    CASE GROUPING(path_raw) WHEN 0 THEN 'g' ELSE 'l' END AS kind,
    local_file, minute_us, host_raw, path_raw, status_raw,
    CASE GROUPING(turnaround_ms) WHEN 0 THEN turnaround_ms END AS turnaround_ms,
    count(*) AS requests,
    coalesce(sum(bytes), 0) AS bytes,
    coalesce(sum(turnaround_ms), 0) AS turnaround_ms_sum,
    count(turnaround_ms) AS turnaround_count,
    coalesce(sum(transfer_ms), 0) AS transfer_ms_sum,
    count(*) FILTER (WHERE hit) AS cache_hits,
    -- The value ranges of request_problem; NULL compares as unknown, so an absent value
    -- passes, and NaN sorts above every number, so it fails.
    count(*) FILTER (WHERE bytes_d < 0 OR bytes_d >= 1099511627776 OR turnaround_d < 0 OR turnaround_d > 86400000
                           OR transfer_d < 0 OR transfer_d > 86400000) AS out_of_range
FROM v
GROUP BY GROUPING SETS ((local_file, minute_us, host_raw, path_raw, status_raw),
                        (local_file, minute_us, host_raw, turnaround_ms));
