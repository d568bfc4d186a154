-- Reads: scan_partials, stage. Writes: scan_groups, the view paths_to_name.
-- The scan's sums net of the files handed to the line path, and every distinct (host,
-- path) of the batch, from both paths, for match_patterns.sql to name once.
CREATE OR REPLACE TEMP TABLE scan_groups AS
SELECT minute_us, host, path_raw, status,
       sum(requests) AS requests, sum(bytes) AS bytes, sum(turnaround_ms_sum) AS turnaround_ms_sum,
       sum(turnaround_count) AS turnaround_count, sum(transfer_ms_sum) AS transfer_ms_sum,
       sum(cache_hits) AS cache_hits
FROM scan_partials
WHERE kind = 'g' AND minute_us IS NOT NULL
GROUP BY ALL
HAVING sum(requests) <> 0;
CREATE OR REPLACE TEMP VIEW paths_to_name AS
SELECT host, path_raw FROM scan_groups
UNION
SELECT host, path_raw FROM stage WHERE reject_reason IS NULL;
