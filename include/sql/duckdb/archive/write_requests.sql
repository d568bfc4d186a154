-- Reads: the given files, archive_objects, archive_patterns, archive_line_rows. Writes: requests Parquet files.
-- The files are the bound lists ds2_files and ds1_files (each holds at least an empty
-- placeholder); the Parquet goes under the bound folder out, Hive-partitioned by event dt, hour.
-- The archive: one wide read_json pass over the files whose every line is a valid request,
-- typed with the macros the line path uses (macros.sql) and named with the rules of each
-- request's own batch, then the line path's rows; written straight out, never
-- materialised. Columns and order are the requests view's (build_requests.sql).
-- DuckDB cannot estimate read_json's size and would build the joins' hash tables on the
-- 2 M wide rows instead of the small tables (12 s instead of 5 for the bench corpus), so
-- the build sides stay as written: the right-hand, small tables.
SET disabled_optimizers = 'build_side_probe_side';
-- A partitioned write buffers rows per partition; flush each at one row group so that an
-- archive run's memory is bounded by its open partitions, not by its input.
SET partitioned_write_flush_threshold = 122880;
COPY (
    WITH ds2 AS (
        SELECT filename AS local_file, 's' AS unit, reqTimeSec AS time_raw, statusCode AS status_raw,
               reqHost AS host_raw, reqMethod AS method, reqPath AS path_raw, queryStr AS query,
               bytes AS bytes_raw, turnAroundTimeMSec AS turnaround_raw, transferTimeMSec AS transfer_raw,
               cliIP AS client_ip, referer AS referer_raw, UA AS ua_raw, cacheStatus AS cache_raw, country,
               errorCode AS error_code, securityRules AS security_rules, reqId AS request_id,
               streamId AS stream_id, cp AS cp_code, proto, rspContentType AS content_type, edgeIP AS edge_ip
        FROM read_json($ds2_files, format = 'newline_delimited', ignore_errors = false, filename = true,
            columns = {streamId: 'VARCHAR', cp: 'VARCHAR', reqId: 'VARCHAR', reqTimeSec: 'VARCHAR',
                       bytes: 'VARCHAR', cliIP: 'VARCHAR', statusCode: 'VARCHAR', proto: 'VARCHAR',
                       reqHost: 'VARCHAR', reqMethod: 'VARCHAR', reqPath: 'VARCHAR', rspContentType: 'VARCHAR',
                       UA: 'VARCHAR', queryStr: 'VARCHAR', referer: 'VARCHAR', turnAroundTimeMSec: 'VARCHAR',
                       transferTimeMSec: 'VARCHAR', errorCode: 'VARCHAR', edgeIP: 'VARCHAR', country: 'VARCHAR',
                       cacheStatus: 'VARCHAR', securityRules: 'VARCHAR'})
    ), ds1 AS (
        SELECT filename AS local_file, 'auto' AS unit, "start" AS time_raw, message.status AS status_raw,
               message.reqHost AS host_raw, message.reqMethod AS method, message.reqPath AS path_raw,
               message.reqQuery AS query, message.bytes AS bytes_raw, NULL AS turnaround_raw,
               netPerf.downloadTime AS transfer_raw, message.cliIP AS client_ip, reqHdr.referer AS referer_raw,
               message.UA AS ua_raw, coalesce("cache".cacheHit, netPerf.cacheStatus) AS cache_raw,
               geo.country AS country, NULL AS error_code, CAST(waf AS VARCHAR) AS security_rules,
               reqid AS request_id, id AS stream_id, cp AS cp_code, message.proto AS proto,
               message.respCT AS content_type, netPerf.edgeIP AS edge_ip
        FROM read_json($ds1_files, format = 'newline_delimited', ignore_errors = false, filename = true,
            columns = {reqid: 'VARCHAR', cp: 'VARCHAR', id: 'VARCHAR', "start": 'VARCHAR',
                       message: 'STRUCT(cliIP VARCHAR, reqMethod VARCHAR, bytes VARCHAR, reqHost VARCHAR, UA VARCHAR,
                                reqPath VARCHAR, reqQuery VARCHAR, status VARCHAR, proto VARCHAR, respCT VARCHAR)',
                       reqHdr: 'STRUCT(referer VARCHAR)',
                       netPerf: 'STRUCT(downloadTime VARCHAR, cacheStatus VARCHAR, edgeIP VARCHAR)',
                       "cache": 'STRUCT(cacheHit VARCHAR)', geo: 'STRUCT(country VARCHAR)', waf: 'JSON'})
    ), typed AS (
        SELECT s.*, o.object_key, o.source_format, o.plus_is_space AS plus, o.batch_id, o.rules_version,
               event_time(event_micros(s.time_raw, s.unit)) AS event_time
        FROM (SELECT * FROM ds2 UNION ALL SELECT * FROM ds1) s JOIN archive_objects o USING (local_file)
    )
    SELECT
        t.event_time, nv(t.client_ip) AS client_ip, nv(t.method) AS method, p.host,
        p.path, pct_decode_fast(nv(t.query), t.plus) AS query, req_status(t.status_raw) AS status,
        req_bytes(t.bytes_raw) AS bytes, req_ms(t.turnaround_raw) AS turnaround_ms,
        req_ms(t.transfer_raw) AS transfer_ms, pct_decode_fast(nv(t.referer_raw), t.plus) AS referer,
        pct_decode_fast(nv(t.ua_raw), t.plus) AS user_agent, req_cache(t.cache_raw) AS cache_status,
        nv(t.country) AS country, nv(t.error_code) AS error_code, nv(t.security_rules) AS security_rules,
        nv(t.request_id) AS request_id, nv(t.stream_id) AS stream_id, nv(t.cp_code) AS cp_code,
        nv(t.proto) AS proto, nv(t.content_type) AS content_type, nv(t.edge_ip) AS edge_ip,
        p.url_pattern, t.source_format, t.object_key AS source_key, t.batch_id, t.rules_version,
        strftime(t.event_time, '%Y-%m-%d') AS dt, strftime(t.event_time, '%H') AS hour
    FROM typed t
    JOIN archive_patterns p
      ON p.rules_version = t.rules_version AND p.host_raw = t.host_raw
     AND p.path_raw IS NOT DISTINCT FROM t.path_raw  -- (a missing path is the request for /)
    UNION ALL BY NAME
    SELECT * FROM archive_line_rows
) TO $out (FORMAT parquet, PARTITION_BY (dt, hour), COMPRESSION zstd, ROW_GROUP_SIZE $row_group_size,
           FILENAME_PATTERN $pattern);
RESET disabled_optimizers;
RESET partitioned_write_flush_threshold;
