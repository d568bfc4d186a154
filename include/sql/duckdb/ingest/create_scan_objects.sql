-- Reads: nothing. Writes: scan_objects (empty): the files of the narrow scan, by the
-- name the scan sees them under, with their arrival (for the event-time spread).
CREATE OR REPLACE TEMP TABLE scan_objects (local_file VARCHAR PRIMARY KEY, arrived TIMESTAMPTZ);
