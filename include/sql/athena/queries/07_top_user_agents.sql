-- Question: which user agents sent the most requests in a month?
-- Table: requests. user_agent is percent-decoded; NULL when the request had none.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    user_agent,
    count(*) AS requests,
    count(DISTINCT client_ip) AS client_ips
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
GROUP BY user_agent
ORDER BY requests DESC
LIMIT 100;
