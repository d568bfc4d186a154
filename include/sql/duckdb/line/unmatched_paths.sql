-- Reads: requests. Writes: unmatched_paths.
-- The paths no rule named, with their counts: the top $top per event hour and host-path,
-- so operators can see which rule to write next (Athena table `unmatched_paths`).
CREATE OR REPLACE TEMP TABLE unmatched_paths AS
SELECT host, path, CAST(count(*) AS BIGINT) AS requests, any_value(batch_id) AS batch_id, dt, hour
FROM requests
WHERE url_pattern = $unmatched
GROUP BY host, path, dt, hour
QUALIFY row_number() OVER (PARTITION BY dt, hour ORDER BY count(*) DESC, host, path) <= $top
ORDER BY dt, hour, requests DESC, host, path;
