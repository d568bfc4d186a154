-- edgesense.requests: one row per valid CDN request, as Parquet under requests/dt=YYYY-MM-DD/hour=HH/.
--
-- The edgesense_setup DAG creates this same table through the Glue API (CreateTable); this
-- file is for users who prefer Athena DDL. Replace ${store_bucket} with your store bucket.
-- Partitions are kept current by the ingest DAG via Glue BatchCreatePartition; after loading
-- files by other means, run `MSCK REPAIR TABLE requests;`.
-- dt and hour are the UTC date and hour of event_time. Always filter on dt to prune partitions.
CREATE EXTERNAL TABLE IF NOT EXISTS requests (
    event_time timestamp COMMENT 'request time, UTC',
    client_ip string,
    method string,
    host string COMMENT 'lower-cased',
    path string COMMENT 'percent-decoded, with a leading /',
    query string,
    status int,
    bytes bigint,
    turnaround_ms int,
    transfer_ms int,
    referer string COMMENT 'percent-decoded',
    user_agent string COMMENT 'percent-decoded',
    cache_status int COMMENT '1 = served from the edge cache',
    country string,
    error_code string,
    security_rules string COMMENT 'WAF information, passed through',
    request_id string,
    stream_id string,
    cp_code string,
    proto string,
    content_type string,
    edge_ip string,
    url_pattern string COMMENT 'id of the first ranked rule matching path',
    source_format string COMMENT 'ds2_json, ds1_raw or ds2_structured',
    source_key string COMMENT 'S3 key of the log object (lineage)',
    batch_id string,
    rules_version string
)
PARTITIONED BY (dt string, hour string)
STORED AS PARQUET
LOCATION 's3://${store_bucket}/requests/';
