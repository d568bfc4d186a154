-- Reads: history, path_patterns. Writes: nothing (returns rows).
-- The most requested paths no rule names (dry-run's before/after view).
SELECT h.host, h.path, CAST(count(*) AS BIGINT) AS requests
FROM history h JOIN path_patterns p USING (host, path)
WHERE p.url_pattern = $unmatched
GROUP BY ALL ORDER BY requests DESC, host, path LIMIT $top;
