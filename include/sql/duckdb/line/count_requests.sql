-- Reads: requests. Writes: nothing (returns rows).
SELECT count(*) AS n FROM requests;
