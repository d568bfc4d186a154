-- Reads: scan_checked, line_path_files, stage. Writes: the views scan_groups and paths_to_name.
-- The scan's typed sums of the files the line path did not take (two raw keys can be one
-- typed key; combine.sql merges them), and every distinct (host, path) of the batch, from
-- both paths, for match_patterns.sql to name once.
CREATE OR REPLACE TEMP VIEW scan_groups AS
SELECT minute_us, host, path AS path_raw, status, requests, bytes, turnaround_ms_sum, turnaround_count,
       transfer_ms_sum, cache_hits
FROM scan_checked
WHERE problem IS NULL AND coalesce(local_file NOT IN (SELECT local_file FROM line_path_files), true);
CREATE OR REPLACE TEMP VIEW paths_to_name AS
SELECT host, path_raw FROM scan_groups
UNION
SELECT host, path_raw FROM stage WHERE reject_reason IS NULL;
