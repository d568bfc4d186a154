-- Reads: scan_checked (a scan that kept files apart), scan_objects. Writes: nothing
-- (returns local_file). The files the line path must take: any line that is not a valid
-- request, or an event time outside the accepted spread around the object's arrival (as
-- normalize.sql checks per line, so that the line path names each such line).
SELECT DISTINCT s.local_file
FROM scan_checked s JOIN scan_objects o USING (local_file)
WHERE s.problem IS NOT NULL
   OR (o.arrived IS NOT NULL AND (s.first_us < epoch_us(o.arrived) - $max_age_us
                                  OR s.last_us > epoch_us(o.arrived) + $max_ahead_us))
ORDER BY s.local_file;
