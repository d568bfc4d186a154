-- Reads: the given files. Writes: nothing (returns rows).
-- Read one file end to end; used to find which object of a failed scan is corrupt.
SELECT count(*) FROM read_csv(
    $file, columns = {'line': 'VARCHAR'}, delim = $delim, quote = '', escape = '', header = false,
    auto_detect = false, compression = $compression, max_line_size = $max_line_size,
    strict_mode = false, ignore_errors = true
);
