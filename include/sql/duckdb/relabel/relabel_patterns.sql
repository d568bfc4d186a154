-- Reads: history. Writes: path_patterns.
-- The current rules over each distinct (host, path) of the history. requests.path is
-- already percent-decoded, so it is matched as it is.
CREATE OR REPLACE TEMP TABLE path_patterns AS
SELECT host, decoded_path AS path, CASE {{rule_cases}} ELSE $unmatched END AS url_pattern
FROM (SELECT DISTINCT host, path AS decoded_path FROM history);
