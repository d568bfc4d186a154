-- Bytes each file's lines account for (one delimiter each), to compare with the gzip
-- trailer's ISIZE. Blank lines come back as NULL and still count their newline.
SELECT local_file, sum(coalesce(strlen(line), 0) + 1)::BIGINT AS n
FROM raw_lines
GROUP BY local_file;
