-- Question: at which hours of the day (UTC) do agents claiming to be Googlebot crawl?
-- Table: requests. The hour partition column is the UTC hour of event_time.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    hour AS hour_of_day_utc,
    count(*) AS requests,
    count(DISTINCT dt) AS days_with_crawls,
    round(1.0 * count(*) / count(DISTINCT dt), 1) AS avg_requests_per_crawl_day
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND user_agent LIKE '%Googlebot%'
GROUP BY hour
ORDER BY hour;
