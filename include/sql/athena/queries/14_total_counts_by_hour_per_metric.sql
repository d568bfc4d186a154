-- Question: what are the total counts per hour of each metric (ResponseCountTotal and the
-- status families Response_2XX, _3XX, _4XX, _404, _5XX, as published to CloudWatch)?
-- Table: minute_metrics (the aggregated table). The families are derived from status:
-- a 404 counts in both Response_4XX and Response_404.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
WITH families AS (
    SELECT
        date_trunc('hour', minute) AS hour_start,
        metric,
        requests
    FROM minute_metrics
    CROSS JOIN UNNEST(
        filter(
            ARRAY[
                'ResponseCountTotal',
                CASE WHEN status BETWEEN 200 AND 299 THEN 'Response_2XX' END,
                CASE WHEN status BETWEEN 300 AND 399 THEN 'Response_3XX' END,
                CASE WHEN status BETWEEN 400 AND 499 THEN 'Response_4XX' END,
                CASE WHEN status = 404 THEN 'Response_404' END,
                CASE WHEN status BETWEEN 500 AND 599 THEN 'Response_5XX' END
            ],
            m -> m IS NOT NULL
        )
    ) AS f (metric)
    WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
)
SELECT
    hour_start,
    metric,
    sum(requests) AS total
FROM families
GROUP BY hour_start, metric
ORDER BY hour_start, metric;
