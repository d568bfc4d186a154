SELECT object_key, count(*) FILTER (WHERE reject_reason IS NULL) AS valid, count(*) FILTER (WHERE reject_reason IS NOT NULL) AS rejected
FROM stage GROUP BY ALL ORDER BY object_key;
