-- Reads: raw_lines. Writes: nothing (returns rows).
-- Bytes each file's lines account for (one delimiter each), and its rows, to compare with
-- the gzip trailer's ISIZE. The reader skips blank lines, so a file with some does not add
-- up and gets the full inflate check instead (aggregate.py).
SELECT local_file, sum(coalesce(strlen(line), strlen(cut_line), 0) + 1)::BIGINT AS n, count(*)::BIGINT AS rows
FROM raw_lines
GROUP BY local_file;
