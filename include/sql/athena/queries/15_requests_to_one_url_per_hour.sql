-- Question: how many requests did one URL get per hour, and how did it answer?
-- Table: requests. path is percent-decoded with a leading / (replace '/json/checkout/api.js'
-- with your path, and add a host filter if several hosts serve it).
-- Partitions: the days of interest of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    date_trunc('hour', event_time) AS hour_start,
    count(*) AS requests,
    count_if(status BETWEEN 200 AND 399) AS ok,
    count_if(status >= 400) AS errors,
    round(avg(turnaround_ms), 1) AS avg_turnaround_ms
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND path = '/json/checkout/api.js'
GROUP BY date_trunc('hour', event_time)
ORDER BY hour_start;
