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
CREATE OR REPLACE TEMP TABLE archive_patterns (
    rules_version VARCHAR, host VARCHAR, path_raw VARCHAR, path VARCHAR, url_pattern VARCHAR
);
CREATE OR REPLACE TEMP TABLE archive_line_rows AS SELECT * EXCLUDE (sum_part) FROM requests LIMIT 0;
