-- Question: how many requests per day came from agents claiming to be Googlebot?
-- Table: requests. "Claiming": the user agent can be forged, so the distinct client IPs
-- are shown too (verify them with a reverse DNS lookup if it matters).
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    dt AS day,
    user_agent,
    count(*) AS requests,
    count(DISTINCT client_ip) AS client_ips
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND user_agent LIKE '%Googlebot%'
GROUP BY dt, user_agent
ORDER BY day, requests DESC;
