-- Reads: nothing. Writes: line_path_files (empty): the scanned files the line path takes
-- instead (a line that is not a valid request, or a scan that failed); their sums are not used.
CREATE OR REPLACE TEMP TABLE line_path_files (local_file VARCHAR PRIMARY KEY);
