-- Reads: requests. Writes: nothing (returns rows).
-- Turnaround time (ms) per minute x host as value -> count pairs, for CloudWatch Values/Counts.
SELECT date_trunc('minute', event_time) AS minute, host, turnaround_ms AS value, count(*) AS n
FROM requests
WHERE turnaround_ms IS NOT NULL AND turnaround_ms >= 0
GROUP BY ALL
ORDER BY minute, host, value;
