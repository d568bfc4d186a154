-- Question: which CSS requests failed (status >= 400), by status?
-- Table: requests. A request is CSS when its path ends in .css or its content type is text/css.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    status,
    host,
    path,
    count(*) AS requests
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND status >= 400
  AND (lower(path) LIKE '%.css' OR lower(content_type) LIKE 'text/css%')
GROUP BY status, host, path
ORDER BY status, requests DESC;
