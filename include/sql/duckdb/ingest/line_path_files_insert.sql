-- Reads: nothing. Writes: line_path_files.
INSERT INTO line_path_files VALUES ($local_file);
