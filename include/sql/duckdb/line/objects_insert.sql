-- Reads: nothing. Writes: objects.
INSERT INTO objects VALUES ($local_file, $key, $format, $plus, $arrived);
