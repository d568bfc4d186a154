-- Name each distinct path once (not each line): ranked rules as one CASE whose patterns
-- are bound parameters, so DuckDB compiles every regex once. Rule text is never in the SQL.
CREATE OR REPLACE TEMP TABLE path_patterns AS
SELECT decoded_path AS path,
       CASE {{rule_cases}} ELSE $unmatched END AS url_pattern
FROM (SELECT DISTINCT path AS decoded_path FROM stage WHERE reject_reason IS NULL);
