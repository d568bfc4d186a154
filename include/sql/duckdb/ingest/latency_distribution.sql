-- Reads: latency_counts. Writes: nothing (returns rows).
-- Turnaround time (ms) per minute x host (ingest/combine.sql) as
-- value -> count pairs, for CloudWatch Values/Counts.
SELECT minute, host, value, n FROM latency_counts ORDER BY minute, host, value;
