INSERT INTO line_path_files VALUES ($local_file);
