-- Reads: scan_partials. Writes: the view scan_checked: each 'g' group with why its lines
-- are not all valid requests (NULL when they are), by the rules of request_problem
-- (macros.sql) applied to the group's keys and value ranges. (NaN sorts above every
-- number, so a NaN fails the upper bounds, as it does per line.)
CREATE OR REPLACE TEMP VIEW scan_checked AS
SELECT *,
    CASE
        WHEN minute_us IS NULL THEN 'time'
        WHEN nv(status_raw) IS NULL OR req_status(status_raw) IS NULL
             OR req_status(status_raw) NOT BETWEEN 0 AND 999 THEN 'status'
        WHEN nv(host_raw) IS NULL OR length(nv(host_raw)) > 255 OR NOT regexp_full_match(nv(host_raw), '[!-~]+')
            THEN 'host'
        WHEN bytes_min < 0 OR bytes_max >= 1099511627776 THEN 'bytes'
        WHEN turnaround_min < 0 OR turnaround_max > 86400000 THEN 'turnaround'
        WHEN transfer_min < 0 OR transfer_max > 86400000 THEN 'transfer'
    END AS problem
FROM scan_partials
WHERE kind = 'g';
