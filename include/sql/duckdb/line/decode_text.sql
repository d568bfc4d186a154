-- Reads: stage. Writes: text_decoded.
-- Decode user agents, referers and query strings once per distinct value. DataStream 2
-- escapes spaces in these as '+'; DataStream 1 carries them plain.
CREATE OR REPLACE TEMP TABLE text_decoded AS
SELECT raw, plus, pct_decode(raw, plus) AS value
FROM (
    SELECT DISTINCT ua_raw AS raw, plus_is_space AS plus FROM stage WHERE reject_reason IS NULL AND ua_raw IS NOT NULL
    UNION
    SELECT DISTINCT referer_raw, plus_is_space FROM stage WHERE reject_reason IS NULL AND referer_raw IS NOT NULL
    UNION
    SELECT DISTINCT query_raw, plus_is_space FROM stage WHERE reject_reason IS NULL AND query_raw IS NOT NULL
);
