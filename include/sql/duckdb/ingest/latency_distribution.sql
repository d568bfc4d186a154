-- Reads: latency_counts (ingest/combine.sql). Turnaround time (ms) per minute x host as
-- value -> count pairs, for CloudWatch Values/Counts.
SELECT minute, host, value, n FROM latency_counts ORDER BY minute, host, value;
