-- Reads: bound values only. Writes: nothing (returns rows).
-- Does one rule match one request? The same test the aggregation's CASE makes, for
-- `edgesense rules test`: host scope, then the regex anywhere in the percent-decoded path.
SELECT ($hostexact IS NULL OR $host = $hostexact)
   AND ($hostre IS NULL OR regexp_full_match($host, $hostre))
   AND regexp_matches(coalesce(try(url_decode(split_part($path, '?', 1))), split_part($path, '?', 1)), $regex)
   AS hit;
