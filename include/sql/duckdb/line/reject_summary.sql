-- Reads: stage. Writes: nothing (returns rows).
SELECT reject_reason, count(*) AS n FROM stage WHERE reject_reason IS NOT NULL GROUP BY ALL ORDER BY n DESC, reject_reason;
