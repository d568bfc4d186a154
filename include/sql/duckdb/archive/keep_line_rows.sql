-- Reads: requests (the line path's view, one batch). Writes: archive_line_rows.
INSERT INTO archive_line_rows SELECT * EXCLUDE (sum_part) FROM requests;
