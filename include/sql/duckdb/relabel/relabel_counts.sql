-- Reads: history, path_patterns. Writes: nothing (returns rows).
-- Requests per host x pattern x status under the rules in path_patterns (dry-run, cost).
SELECT h.host, p.url_pattern, h.status, CAST(count(*) AS BIGINT) AS requests
FROM history h JOIN path_patterns p USING (host, path)
GROUP BY ALL ORDER BY ALL;
