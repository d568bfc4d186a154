-- Reads: scan_checked, stage. Writes: scan_groups, the view paths_to_name.
-- The scan's sums of the files the line path did not take, typed and merged by typed key
-- (two raw hosts can be one lowercased host), and every distinct (host, path) of the
-- batch, from both paths, for match_patterns.sql to name once.
CREATE OR REPLACE TEMP TABLE scan_groups AS
SELECT minute_us, req_host(host_raw) AS host, req_path(path_raw) AS path_raw, req_status(status_raw) AS status,
       sum(requests) AS requests, sum(bytes) AS bytes, sum(turnaround_ms_sum) AS turnaround_ms_sum,
       sum(turnaround_count) AS turnaround_count, sum(transfer_ms_sum) AS transfer_ms_sum,
       sum(cache_hits) AS cache_hits
FROM scan_checked
WHERE problem IS NULL AND coalesce(local_file NOT IN (SELECT local_file FROM line_path_files), true)
GROUP BY ALL
HAVING sum(requests) <> 0;
CREATE OR REPLACE TEMP VIEW paths_to_name AS
SELECT host, path_raw FROM scan_groups
UNION
SELECT host, path_raw FROM stage WHERE reject_reason IS NULL;
