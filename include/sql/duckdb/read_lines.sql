-- Read every line of the given files as one VARCHAR column, whatever the format.
-- The delimiter is a control character that valid JSON and Akamai's hex-encoded
-- structured lines never contain raw, so a line is never split. Lines that are not
-- UTF-8 or are too long land in reject_errors (store_rejects) instead of failing the scan.
INSERT INTO raw_lines
SELECT filename AS local_file, line
FROM read_csv(
    $files,
    columns = {'line': 'VARCHAR'},
    delim = $delim,
    quote = '',
    escape = '',
    header = false,
    auto_detect = false,
    filename = true,
    compression = $compression,
    max_line_size = $max_line_size,
    strict_mode = false,
    ignore_errors = true,
    store_rejects = true
);
