-- Question: which hosts served the most requests in a month?
-- Table: requests.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    host,
    count(*) AS requests,
    sum(bytes) AS bytes,
    round(100.0 * count_if(cache_status = 1) / count(*), 2) AS pct_cache_hits
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
GROUP BY host
ORDER BY requests DESC
LIMIT 100;
