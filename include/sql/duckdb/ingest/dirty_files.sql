-- Reads: scan_checked (a scan that kept files apart), scan_objects. Writes: nothing
-- (returns local_file). The files the line path must take: any line that is not a valid
-- request, or an event time that may lie outside the accepted spread around the object's
-- arrival (widened to whole minutes, see suspicious.sql), so that the line path names
-- each such line as normalize.sql checks it.
SELECT DISTINCT s.local_file
FROM scan_checked s JOIN scan_objects o USING (local_file)
WHERE s.problem IS NOT NULL
   OR (o.arrived IS NOT NULL AND (minute_may_precede(s.minute_us, epoch_us(o.arrived) - $max_age_us)
                                  OR minute_may_follow(s.minute_us, epoch_us(o.arrived) + $max_ahead_us)))
ORDER BY s.local_file;
