-- Reads: raw_lines, objects. Writes: parsed_unreadable.
-- A line holding a raw 0x1F control byte (which no valid JSON line has) is rejected whole.
INSERT INTO parsed_unreadable (object_key, source_format, line, parse_error)
SELECT o.object_key, o.format, l.cut_line, 'line contains a raw 0x1F control byte'
FROM raw_lines l JOIN objects o USING (local_file)
WHERE l.cut_line IS NOT NULL;
