-- Reads: bound values only. Writes: nothing (returns rows).
-- Compile a rule's regex the way the aggregation will (RE2, as a bound constant); an
-- invalid pattern raises here, naming the problem.
SELECT regexp_matches('', $re);
