-- Question: which pages did each agent claiming to be Googlebot crawl last?
-- Table: requests. Shows the 20 latest requests per user agent.
-- Partitions: the last days of dt (replace '2026-11-24' / '2026-11-30'); widen the range
-- if an agent has not been seen in it.
SELECT user_agent, event_time, client_ip, host, path, status
FROM (
    SELECT
        user_agent,
        event_time,
        client_ip,
        host,
        path,
        status,
        row_number() OVER (PARTITION BY user_agent ORDER BY event_time DESC) AS recency
    FROM requests
    WHERE dt BETWEEN '2026-11-24' AND '2026-11-30'
      AND user_agent LIKE '%Googlebot%'
) AS latest
WHERE recency <= 20
ORDER BY user_agent, event_time DESC;
