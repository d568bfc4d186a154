-- Question: which client IPs sent the most requests in a month?
-- Table: requests.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    client_ip,
    count(*) AS requests,
    sum(bytes) AS bytes,
    count(DISTINCT host) AS hosts
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
GROUP BY client_ip
ORDER BY requests DESC
LIMIT 100;
