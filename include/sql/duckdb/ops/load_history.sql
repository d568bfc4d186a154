-- Reads: the given minute_metrics Parquet files. Writes: history.
-- Recent minute_metrics, for the ops DAG: hosts seen, per-host minutes, reconciliation.
-- union_by_name: files of older versions may lack a column; the ones read here never did.
CREATE OR REPLACE TEMP TABLE history AS
SELECT minute, host, url_pattern, status, requests, turnaround_ms_sum, turnaround_count, cache_hits, batch_id
FROM read_parquet($files, hive_partitioning = true, hive_types_autocast = false, union_by_name = true);
