-- Reads: nothing. Writes: archive_objects, archive_patterns and archive_line_rows (empty).
-- The objects of an archive run (by the name the scan sees them under) with the batch
-- that counted them and that batch's rules; each rules version's named paths; and the
-- requests of the files that took the line path, in the shape of the requests view.
CREATE OR REPLACE TEMP TABLE archive_objects (
    local_file    VARCHAR PRIMARY KEY,
    object_key    VARCHAR NOT NULL,
    source_format VARCHAR NOT NULL,
    plus_is_space BOOLEAN NOT NULL,
    batch_id      VARCHAR NOT NULL,
    rules_version VARCHAR NOT NULL
);
-- Keyed by the raw host and path as read (the join needs no function per row), with the
-- typed host, the decoded path and the pattern.
CREATE OR REPLACE TEMP TABLE archive_patterns (
    rules_version VARCHAR, host_raw VARCHAR, path_raw VARCHAR, host VARCHAR, path VARCHAR, url_pattern VARCHAR
);
CREATE OR REPLACE TEMP TABLE archive_line_rows AS SELECT * EXCLUDE (sum_part) FROM requests LIMIT 0;
