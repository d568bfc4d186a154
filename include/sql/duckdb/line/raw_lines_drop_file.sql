-- Reads: raw_lines. Writes: raw_lines.
-- Forget what a scan read from one file (it is re-read from its salvaged copy).
DELETE FROM raw_lines WHERE local_file = $local_file;
