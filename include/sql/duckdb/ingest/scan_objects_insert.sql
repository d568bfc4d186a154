-- Reads: nothing. Writes: scan_objects.
INSERT INTO scan_objects VALUES ($local_file, $arrived);
