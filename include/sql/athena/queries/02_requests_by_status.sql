-- Question: how many requests got each HTTP status in a month, and what share is that?
-- Table: requests.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    status,
    count(*) AS requests,
    round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS pct_of_requests
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
GROUP BY status
ORDER BY requests DESC;
