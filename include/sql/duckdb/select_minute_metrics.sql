-- Reads: minute_metrics. Writes: nothing (returns rows).
SELECT * FROM minute_metrics ORDER BY minute, host, url_pattern, status;
