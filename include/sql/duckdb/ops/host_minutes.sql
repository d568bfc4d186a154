-- Reads: history. Writes: nothing (returns rows).
-- Per event minute x host: requests, 5XX, mean turnaround (NULL without latency), cache hits.
-- The sums the reconciliation compares with CloudWatch, and the detector's signals.
SELECT
    minute,
    host,
    CAST(sum(requests) AS BIGINT) AS requests,
    CAST(coalesce(sum(requests) FILTER (WHERE status BETWEEN 500 AND 599), 0) AS BIGINT) AS errors_5xx,
    CAST(coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499), 0) AS BIGINT) AS errors_4xx,
    sum(turnaround_ms_sum) / nullif(sum(turnaround_count), 0) AS turnaround_mean_ms,
    CAST(sum(cache_hits) AS BIGINT) AS cache_hits
FROM history
WHERE minute >= $start AND minute < $end
GROUP BY minute, host
ORDER BY minute, host;
