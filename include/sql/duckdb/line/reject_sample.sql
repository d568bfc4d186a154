-- Reads: stage. Writes: nothing (returns rows).
-- A deterministic sample of rejected lines, spread over reasons, for the rejects/ prefix.
SELECT object_key, reject_reason, line
FROM (
    SELECT *, row_number() OVER (PARTITION BY reject_reason ORDER BY object_key, line) AS rn
    FROM stage WHERE reject_reason IS NOT NULL
)
ORDER BY rn, reject_reason, object_key
LIMIT $limit;
