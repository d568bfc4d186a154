-- Reads: reject_errors, reject_scans (the reader's store_rejects), objects. Writes: parsed_unreadable.
-- Lines the CSV reader refused (not UTF-8, too long) become rejected lines of their object.
-- DISTINCT on (file, line number): a file re-scanned after a corrupt neighbour was
-- isolated is reported once.
INSERT INTO parsed_unreadable (object_key, source_format, line, parse_error)
SELECT object_key, format, csv_line, reason
FROM (
    SELECT DISTINCT o.object_key, o.format, e.line AS line_number, e.csv_line,
        CASE CAST(e.error_type AS VARCHAR)
            WHEN 'INVALID ENCODING' THEN 'not UTF-8 text'
            WHEN 'LINE SIZE OVER MAXIMUM' THEN 'line longer than the maximum line size'
            ELSE 'unreadable line: ' || lower(CAST(e.error_type AS VARCHAR))
        END AS reason
    FROM reject_errors e
    JOIN reject_scans s USING (scan_id, file_id)
    JOIN objects o ON o.local_file = s.file_path
);
