-- Reads: objects. Writes: objects.
-- An object that could not be read at all is not part of the batch's processed objects.
DELETE FROM objects WHERE local_file = $local_file;
