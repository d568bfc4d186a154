-- Reads: scan_partials (f rows), scan_objects. Writes: nothing (returns local_file).
-- The files the line path must take: any line that is not a valid request, or an event
-- time outside the accepted spread around the object's arrival (as normalize.sql checks
-- per line, so that the line path names each such line).
SELECT DISTINCT s.local_file
FROM scan_partials s JOIN scan_objects o USING (local_file)
WHERE s.kind = 'f' AND s.requests >= 0 AND (
    s.bad > 0
    OR (o.arrived IS NOT NULL AND (s.first_us < epoch_us(o.arrived) - $max_age_us
                                   OR s.last_us > epoch_us(o.arrived) + $max_ahead_us))
)
ORDER BY s.local_file;
