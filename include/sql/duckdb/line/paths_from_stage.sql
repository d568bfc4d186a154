-- Reads: stage. Writes: the view paths_to_name (what match_patterns.sql names).
CREATE OR REPLACE TEMP VIEW paths_to_name AS
SELECT DISTINCT host, path_raw FROM stage WHERE reject_reason IS NULL;
