-- Reads: paths_to_name (paths_from_stage.sql or ingest/paths_from_scan.sql). Writes: path_patterns.
-- Name each distinct (host, path) once, not each line: ranked rules as one CASE whose
-- patterns and host scopes are bound parameters, so DuckDB compiles every regex once.
-- Rule text is never in the SQL. Paths are matched percent-decoded (pct_decode, macros.sql).
CREATE OR REPLACE TEMP TABLE path_patterns AS
WITH d AS (
    SELECT host, path_raw, pct_decode(path_raw, false) AS decoded_path
    FROM (SELECT DISTINCT host, path_raw FROM paths_to_name)
)
SELECT host, path_raw, decoded_path AS path,
       CASE {{rule_cases}} ELSE $unmatched END AS url_pattern
FROM d;
