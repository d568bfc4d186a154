-- Reads: stage. Writes: nothing (returns rows).
-- Rejected lines per object and reason, worst first: what a failed run's message names.
SELECT object_key, reject_reason, count(*) AS n
FROM stage WHERE reject_reason IS NOT NULL
GROUP BY ALL ORDER BY n DESC, object_key, reject_reason
LIMIT $limit;
