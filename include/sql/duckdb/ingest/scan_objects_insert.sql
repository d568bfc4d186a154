INSERT INTO scan_objects VALUES ($local_file, $arrived);
