-- Question: which redirects send visitors to an error page, and which to the home page?
-- Table: requests. The logs carry no Location header, so a redirect's target is taken to be
-- the next request of the same client (IP + user agent) on the same host within 10 seconds.
-- A target is the home page when its path is '/', an error page when it answered >= 400
-- or its path starts with '/error' (replace with your error page path).
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
WITH ordered AS (
    SELECT
        host,
        path,
        status,
        event_time,
        lead(path) OVER (PARTITION BY client_ip, user_agent, host ORDER BY event_time) AS next_path,
        lead(status) OVER (PARTITION BY client_ip, user_agent, host ORDER BY event_time) AS next_status,
        lead(event_time) OVER (PARTITION BY client_ip, user_agent, host ORDER BY event_time) AS next_time
    FROM requests
    WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
)
SELECT
    CASE WHEN next_path = '/' THEN 'home page' ELSE 'error page' END AS redirected_to,
    host,
    path AS redirect_url,
    status AS redirect_status,
    next_path AS target_url,
    count(*) AS redirects
FROM ordered
WHERE status IN (301, 302, 303, 307, 308)
  AND next_time <= event_time + INTERVAL '10' SECOND
  AND (next_path = '/' OR next_status >= 400 OR next_path LIKE '/error%')
GROUP BY 1, 2, 3, 4, 5
ORDER BY redirected_to, redirects DESC
LIMIT 200;
