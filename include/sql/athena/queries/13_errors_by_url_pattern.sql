-- Question: how many server errors (status >= 500) did each URL pattern get?
-- Table: minute_metrics (the aggregated table). Paths that matched no rule carry the
-- configured unmatched name ('Unmatched', or 'undefined' in the original metrics shape).
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    url_pattern,
    host,
    status,
    sum(requests) AS errors
FROM minute_metrics
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND status >= 500
GROUP BY url_pattern, host, status
ORDER BY errors DESC;
