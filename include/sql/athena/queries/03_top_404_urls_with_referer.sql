-- Question: which URLs answered 404 most often, and which referers led to them?
-- Table: requests. referer is NULL when the request had none.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    host,
    path,
    referer,
    count(*) AS requests
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND status = 404
GROUP BY host, path, referer
ORDER BY requests DESC
LIMIT 100;
