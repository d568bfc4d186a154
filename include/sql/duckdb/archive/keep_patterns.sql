-- Reads: path_patterns (match_patterns.sql). Writes: archive_patterns.
INSERT INTO archive_patterns SELECT $rules_version, host, path_raw, path, url_pattern FROM path_patterns;
