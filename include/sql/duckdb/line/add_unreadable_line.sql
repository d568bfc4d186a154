-- Reads: bound values. Writes: parsed_unreadable.
-- A line that never reached the scan (the incomplete tail of a corrupt gzip stream).
INSERT INTO parsed_unreadable (object_key, source_format, line, parse_error)
SELECT object_key, format, $line, $reason FROM objects WHERE local_file = $local_file;
