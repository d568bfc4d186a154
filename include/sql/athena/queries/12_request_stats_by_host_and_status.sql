-- Question: request statistics (count, bytes, latency, cache hits) by host and status for a month.
-- Table: requests (per-request rows, so that percentiles are exact per group).
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    host,
    status,
    count(*) AS requests,
    sum(bytes) AS bytes,
    round(avg(bytes), 0) AS avg_bytes,
    round(avg(turnaround_ms), 1) AS avg_turnaround_ms,
    approx_percentile(turnaround_ms, 0.95) AS p95_turnaround_ms,
    max(turnaround_ms) AS max_turnaround_ms,
    round(avg(transfer_ms), 1) AS avg_transfer_ms,
    count_if(cache_status = 1) AS cache_hits
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
GROUP BY host, status
ORDER BY host, status;
