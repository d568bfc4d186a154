-- Reads: scan_checked, scan_objects. Writes: nothing (returns one row: suspicious).
-- Whether a batch scanned without keeping files apart may hold a line that is not a valid
-- request: an invalid group, or event times that could lie outside some object's accepted
-- spread around its arrival (checked against the tightest bounds: the latest arrival
-- minus the maximum age, the earliest plus the maximum lead).
WITH t AS (SELECT min(first_us) AS first_us, max(last_us) AS last_us, bool_or(problem IS NOT NULL) AS bad
           FROM scan_checked),
     a AS (SELECT max(epoch_us(arrived)) AS latest, min(epoch_us(arrived)) AS earliest FROM scan_objects)
SELECT coalesce(t.bad, false)
       OR coalesce(t.first_us < a.latest - $max_age_us OR t.last_us > a.earliest + $max_ahead_us, false)
       AS suspicious
FROM t, a;
