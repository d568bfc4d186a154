-- Reads: objects. Writes: objects.
-- A corrupt gzip object is read from its salvaged plain copy instead.
UPDATE objects SET local_file = $new WHERE local_file = $old;
