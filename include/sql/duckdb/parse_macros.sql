-- Shared by the JSON formats: why a line did not parse. `parsed` is try(from_json(...)),
-- so json_valid only runs on the lines that failed.
CREATE OR REPLACE TEMP MACRO json_parse_error(line, parsed) AS
    CASE WHEN parsed IS NULL AND NOT json_valid(line) THEN 'not valid JSON (malformed or truncated)'
         WHEN NOT regexp_matches(line, '^\s*\{') THEN 'JSON value is not an object'
         WHEN parsed IS NULL THEN 'JSON fields have unexpected types'
    END;
