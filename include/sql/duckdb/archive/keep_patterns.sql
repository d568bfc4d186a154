-- Reads: scan_checked, path_patterns. Writes: archive_patterns.
-- Every raw (host, path) of the scan's valid groups with its pattern (match_patterns.sql).
INSERT INTO archive_patterns
SELECT $rules_version, r.host_raw, r.path_raw, p.host, p.path, p.url_pattern
FROM (SELECT DISTINCT host_raw, path_raw FROM scan_checked WHERE problem IS NULL) r
JOIN path_patterns p ON p.host = req_host(r.host_raw) AND p.path_raw = req_path(r.path_raw);
