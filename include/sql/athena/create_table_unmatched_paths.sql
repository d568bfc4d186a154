-- edgesense.unmatched_paths: the paths no URL-pattern rule named, with their request counts,
-- as Parquet under unmatched_paths/dt=YYYY-MM-DD/hour=HH/ (the top EDGESENSE_UNMATCHED_TOP per
-- batch and hour). Operators read it to decide which rule to write next.
--
-- The edgesense_setup DAG creates this same table through the Glue API (CreateTable); this
-- file is for users who prefer Athena DDL. Replace ${store_bucket} with your store bucket.
-- Partitions are kept current by the ingest DAG via Glue BatchCreatePartition; after loading
-- files by other means, run `MSCK REPAIR TABLE unmatched_paths;`.
--
-- Example, the day's top unmatched paths (what `edgesense rules unmatched --date` prints):
--   SELECT host, path, sum(requests) AS requests FROM unmatched_paths
--   WHERE dt = '2026-11-24' GROUP BY host, path ORDER BY requests DESC LIMIT 50;
CREATE EXTERNAL TABLE IF NOT EXISTS unmatched_paths (
    host string,
    path string COMMENT 'percent-decoded path no rule matched',
    requests bigint COMMENT 'requests in this batch and hour',
    batch_id string
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://${store_bucket}/unmatched_paths/';
