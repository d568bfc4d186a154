-- Reads: the given Parquet files. Writes: nothing (returns rows).
-- `edgesense rules unmatched`: one day's unmatched paths, summed over batches and hours.
SELECT host, path, CAST(sum(requests) AS BIGINT) AS requests
FROM read_parquet($files)
GROUP BY ALL
ORDER BY requests DESC, host, path
LIMIT $top;
