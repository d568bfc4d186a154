-- Reads: nothing. Writes: objects.
-- The objects of one batch: local file -> S3 key and detected format.
CREATE OR REPLACE TEMP TABLE objects (
    local_file    VARCHAR PRIMARY KEY,
    object_key    VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    plus_is_space BOOLEAN NOT NULL,
    arrived       TIMESTAMPTZ          -- S3 LastModified; NULL for local files
);
