-- Reads: the given Parquet files. Writes: history.
-- History to re-label: the requests Parquet of the chosen days (Hive partitions dt/hour).
CREATE OR REPLACE TEMP TABLE history AS
SELECT event_time, host, path, status, bytes, turnaround_ms, transfer_ms, cache_status, batch_id, dt, hour
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false, union_by_name = true);
