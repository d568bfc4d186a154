-- Reads: minute_metrics. Writes: nothing (returns rows).
-- The local CLI's output: one row per minute x host x url_pattern x status.
SELECT strftime(minute, '%Y-%m-%dT%H:%M:00Z') AS minute, host, url_pattern, status, requests, bytes
FROM minute_metrics
ORDER BY minute, host, url_pattern, status;
