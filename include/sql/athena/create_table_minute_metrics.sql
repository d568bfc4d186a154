-- edgesense.minute_metrics: per event minute x host x URL pattern x status, as Parquet under
-- minute_metrics/dt=YYYY-MM-DD/hour=HH/. Every count metric published to CloudWatch is
-- derived from this table.
--
-- The edgesense_setup DAG creates this same table through the Glue API (CreateTable); this
-- file is for users who prefer Athena DDL. Replace ${store_bucket} with your store bucket.
-- Partitions are kept current by the ingest DAG via Glue BatchCreatePartition; after loading
-- files by other means, run `MSCK REPAIR TABLE minute_metrics;`.
-- dt and hour are the UTC date and hour of minute. Always filter on dt to prune partitions.
CREATE EXTERNAL TABLE IF NOT EXISTS minute_metrics (
    minute timestamp COMMENT 'start of the event minute, UTC',
    host string,
    url_pattern string,
    status int,
    requests bigint,
    bytes bigint,
    turnaround_ms_sum bigint,
    turnaround_count bigint COMMENT 'requests with a turnaround time',
    transfer_ms_sum bigint,
    cache_hits bigint COMMENT 'requests with cache_status = 1',
    rules_version string,
    batch_id string
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://${store_bucket}/minute_metrics/';
