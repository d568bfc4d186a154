-- Reads: scan_groups, scan_partials, line_path_files, path_patterns, batch_meta, the line path's minute_metrics and requests. Writes: minute_metrics, latency_counts, unmatched_paths.
-- The whole batch's tables, from the scan's sums and the line path's files (replacing the
-- line path's own minute_metrics and unmatched_paths).
-- Sums are HUGEINT until the end; a row that could pass a BIGINT is split into exact
-- parts (parts_needed/part_of, macros.sql), the bound minute_metrics.sql keeps by rowid.
CREATE OR REPLACE TEMP TABLE batch_minute_metrics AS
WITH scanned AS (
    SELECT make_timestamp(g.minute_us * 60000000) AS minute, g.host, p.url_pattern, g.status,
           g.requests, g.bytes, g.turnaround_ms_sum, g.turnaround_count, g.transfer_ms_sum, g.cache_hits
    FROM scan_groups g JOIN path_patterns p USING (host, path_raw)
), all_rows AS (
    SELECT * FROM scanned
    UNION ALL
    SELECT minute, host, url_pattern, status, requests, bytes, turnaround_ms_sum, turnaround_count,
           transfer_ms_sum, cache_hits
    FROM minute_metrics
), whole AS (
    SELECT minute, host, url_pattern, status,
           sum(requests) AS requests, sum(bytes) AS bytes, sum(turnaround_ms_sum) AS turnaround_ms_sum,
           sum(turnaround_count) AS turnaround_count, sum(transfer_ms_sum) AS transfer_ms_sum,
           sum(cache_hits) AS cache_hits,
           parts_needed(sum(bytes), sum(turnaround_ms_sum), sum(transfer_ms_sum)) AS parts
    FROM all_rows
    GROUP BY ALL
), split AS (
    SELECT *, unnest(range(parts)) AS part FROM whole
)
SELECT minute, host, url_pattern, status,
       part_of(requests, parts, part) AS requests,
       part_of(bytes, parts, part) AS bytes,
       part_of(turnaround_ms_sum, parts, part) AS turnaround_ms_sum,
       part_of(turnaround_count, parts, part) AS turnaround_count,
       part_of(transfer_ms_sum, parts, part) AS transfer_ms_sum,
       part_of(cache_hits, parts, part) AS cache_hits,
       m.rules_version, m.batch_id,
       strftime(minute, '%Y-%m-%d') AS dt,
       strftime(minute, '%H') AS hour
FROM split CROSS JOIN batch_meta m
ORDER BY minute, host, url_pattern, status;
DROP TABLE minute_metrics;
ALTER TABLE batch_minute_metrics RENAME TO minute_metrics;

CREATE OR REPLACE TEMP TABLE latency_counts AS
SELECT minute, host, value, CAST(sum(n) AS BIGINT) AS n
FROM (
    SELECT make_timestamp(minute_us * 60000000) AS minute, req_host(host_raw) AS host, turnaround_ms AS value,
           requests AS n
    FROM scan_partials
    WHERE kind = 'l' AND minute_us IS NOT NULL AND turnaround_ms IS NOT NULL AND turnaround_ms >= 0
      AND coalesce(local_file NOT IN (SELECT local_file FROM line_path_files), true)
    UNION ALL
    SELECT date_trunc('minute', event_time), host, turnaround_ms, count(*)
    FROM requests
    WHERE turnaround_ms IS NOT NULL AND turnaround_ms >= 0
    GROUP BY ALL
)
GROUP BY ALL
HAVING sum(n) <> 0;

CREATE OR REPLACE TEMP TABLE batch_unmatched AS
WITH counts AS (
    SELECT p.host, p.path, strftime(make_timestamp(g.minute_us * 60000000), '%Y-%m-%d') AS dt,
           strftime(make_timestamp(g.minute_us * 60000000), '%H') AS hour, g.requests AS n
    FROM scan_groups g JOIN path_patterns p USING (host, path_raw)
    WHERE p.url_pattern = $unmatched
    UNION ALL
    SELECT host, path, dt, hour, count(*) FROM requests WHERE url_pattern = $unmatched GROUP BY ALL
)
SELECT host, path, CAST(sum(n) AS BIGINT) AS requests, any_value(m.batch_id) AS batch_id, dt, hour
FROM counts CROSS JOIN batch_meta m
GROUP BY host, path, dt, hour
QUALIFY row_number() OVER (PARTITION BY dt, hour ORDER BY sum(n) DESC, host, path) <= $top
ORDER BY dt, hour, requests DESC, host, path;
DROP TABLE unmatched_paths;
ALTER TABLE batch_unmatched RENAME TO unmatched_paths;
