-- Reads: the given local files. Writes: raw_lines.
-- Every line of the given files as one VARCHAR column, whatever the format. The column
-- delimiter is a control byte (0x1F) that valid JSON and Akamai's hex-encoded structured
-- lines never contain raw. A line that does contain it would come back cut in two: a
-- second column catches the rest, and such a line is kept whole in cut_line, to be
-- rejected whole (never half-read). (One case stays out of reach: a single 0x1F as the
-- very last byte of a line reads as an empty rest, so that line is kept without it;
-- nothing of its content is lost.) Lines that are not UTF-8 or are too long land in
-- reject_errors (store_rejects) instead of failing the scan.
INSERT INTO raw_lines
SELECT filename AS local_file,
       CASE WHEN rest IS NULL THEN line END AS line,
       CASE WHEN rest IS NOT NULL THEN coalesce(line, '') || chr(31) || rest END AS cut_line
FROM read_csv(
    $files,
    columns = {'line': 'VARCHAR', 'rest': 'VARCHAR'},
    delim = $delim,
    quote = '',
    escape = '',
    header = false,
    auto_detect = false,
    filename = true,
    compression = $compression,
    max_line_size = $max_line_size,
    strict_mode = false,
    null_padding = true,
    ignore_errors = true,
    store_rejects = true
);
