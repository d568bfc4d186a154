-- Reads: scan_partials. Writes: scan_checked: each 'g' group with its typed keys and why
-- its lines are not all valid requests (NULL when they are), by the rules of
-- request_problem (macros.sql) applied to the group's keys and its out-of-range count.
-- A host is checked once per distinct raw value.
CREATE OR REPLACE TEMP TABLE scan_checked AS
WITH hosts AS (
    SELECT host_raw, req_host(host_raw) AS host,
           length(nv(host_raw)) <= 255 AND regexp_full_match(nv(host_raw), '[!-~]+') AS host_ok
    FROM (SELECT DISTINCT host_raw FROM scan_partials WHERE kind = 'g' AND host_raw IS NOT NULL)
)
SELECT s.local_file, s.minute_us, s.host_raw, s.path_raw, h.host, req_path(s.path_raw) AS path,
       req_status(s.status_raw) AS status, s.requests, s.bytes, s.turnaround_ms_sum, s.turnaround_count,
       s.transfer_ms_sum, s.cache_hits,
       CASE
           WHEN s.minute_us IS NULL THEN 'time'
           WHEN nv(s.status_raw) IS NULL OR req_status(s.status_raw) IS NULL
                OR req_status(s.status_raw) NOT BETWEEN 0 AND 999 THEN 'status'
           WHEN h.host_ok IS NOT TRUE THEN 'host'
           WHEN s.out_of_range > 0 THEN 'value out of range'
       END AS problem
FROM scan_partials s LEFT JOIN hosts h USING (host_raw)
WHERE s.kind = 'g';
