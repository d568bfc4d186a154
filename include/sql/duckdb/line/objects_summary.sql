-- Reads: objects. Writes: nothing (returns rows).
SELECT format, count(*) AS n FROM objects GROUP BY ALL ORDER BY ALL;
