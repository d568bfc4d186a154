-- Reads: history. Writes: nothing (returns rows).
-- Each host with its last event minute and its requests, busiest first.
SELECT host, max(minute) AS last_minute, CAST(sum(requests) AS BIGINT) AS requests
FROM history
GROUP BY host
ORDER BY requests DESC, host;
