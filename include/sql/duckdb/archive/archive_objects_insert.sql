-- Reads: nothing. Writes: archive_objects.
INSERT INTO archive_objects VALUES ($local_file, $key, $format, $plus, $batch_id, $rules_version);
