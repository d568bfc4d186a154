-- Reads: nothing. Writes: raw_lines.
-- Written by read_lines.sql (which skips blank lines). A line that held the reader's
-- delimiter byte is kept whole in `cut_line` instead, to be rejected (add_cut_line_rejects.sql).
CREATE OR REPLACE TEMP TABLE raw_lines (local_file VARCHAR, line VARCHAR, cut_line VARCHAR);
