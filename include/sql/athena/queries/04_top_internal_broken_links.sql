-- Question: which internal links are broken, i.e. 404s whose referer is a page of the same host?
-- Table: requests. The referer page is the one holding the broken link.
-- Partitions: one month of dt (replace '2026-11-01' / '2026-11-30'); all hours.
SELECT
    host,
    referer AS linking_page,
    path AS broken_link,
    count(*) AS requests
FROM requests
WHERE dt BETWEEN '2026-11-01' AND '2026-11-30'
  AND status = 404
  AND referer IS NOT NULL
  AND lower(url_extract_host(referer)) = host
GROUP BY host, referer, path
ORDER BY requests DESC
LIMIT 100;
