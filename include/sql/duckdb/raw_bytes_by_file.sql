-- Bytes each file's lines account for (one delimiter each), and its rows, to compare with
-- the gzip trailer's ISIZE. Blank lines come back as NULL and still count their newline.
SELECT local_file, sum(coalesce(strlen(line), 0) + 1)::BIGINT AS n, count(*)::BIGINT AS rows
FROM raw_lines
GROUP BY local_file;
