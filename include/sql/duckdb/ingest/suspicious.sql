-- Reads: scan_checked, scan_objects. Writes: nothing (returns one row: suspicious).
-- Whether a batch scanned without keeping files apart may hold a line that is not a valid
-- request: an invalid group, or event times that could lie outside some object's accepted
-- spread around its arrival (checked against the tightest bounds: the latest arrival
-- minus the maximum age, the earliest plus the maximum lead). Event times are known here
-- by their minute only, so the check is widened to whole minutes (scan_minute_bounds in
-- macros.sql); the line path then checks each line of a file near a bound exactly.
WITH t AS (SELECT min(minute_us) AS first_minute, max(minute_us) AS last_minute,
                  bool_or(problem IS NOT NULL) AS bad
           FROM scan_checked),
     a AS (SELECT max(epoch_us(arrived)) AS latest, min(epoch_us(arrived)) AS earliest FROM scan_objects)
SELECT coalesce(t.bad, false)
       OR coalesce(minute_may_precede(t.first_minute, a.latest - $max_age_us)
                   OR minute_may_follow(t.last_minute, a.earliest + $max_ahead_us), false)
       AS suspicious
FROM t, a;
