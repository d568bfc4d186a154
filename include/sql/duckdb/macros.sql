-- Reads: nothing. Writes: the session's macros (every path runs this file first).
-- Every rule about what a field means lives here once, so that the line path
-- (normalize.sql), the metrics scan (ingest/) and the archive (archive/) agree exactly.

-- A missing value: absent, empty, or Akamai's '-' and '^'.
CREATE OR REPLACE TEMP MACRO nv(x) AS CASE WHEN x IN ('', '-', '^') THEN NULL ELSE x END;

-- Event time in microseconds from the raw text; NULL when not a finite number.
-- unit: 's', 'ms', or 'auto' (ms when the number is > 1e11).
CREATE OR REPLACE TEMP MACRO event_micros(time_raw, unit) AS
    CASE WHEN try_cast(nv(time_raw) AS DOUBLE) IS NULL OR isnan(try_cast(nv(time_raw) AS DOUBLE))
              OR isinf(try_cast(nv(time_raw) AS DOUBLE)) THEN NULL
         WHEN unit = 'ms' OR (unit = 'auto' AND try_cast(nv(time_raw) AS DOUBLE) > 1e11)
              THEN try_cast(nv(time_raw) AS DOUBLE) * 1000
         ELSE try_cast(nv(time_raw) AS DOUBLE) * 1000000 END;
CREATE OR REPLACE TEMP MACRO time_in_range(t_micros) AS t_micros BETWEEN 0 AND 32503680000000000;
-- Whether an event time whose minute (round(t_micros) // 60e6, as the metrics scan keys
-- its groups) is `minute` may lie below `bound_us`, or above it; exact only at whole minutes,
-- so a minute near a bound answers yes (t lies in [minute * 60e6 - 0.5, (minute + 1) * 60e6 - 0.5)).
CREATE OR REPLACE TEMP MACRO minute_may_precede(minute, bound_us) AS minute * 60000000 - 1 < bound_us;
CREATE OR REPLACE TEMP MACRO minute_may_follow(minute, bound_us) AS (minute + 1) * 60000000 > bound_us;
CREATE OR REPLACE TEMP MACRO event_time(t_micros) AS
    CASE WHEN time_in_range(t_micros) THEN make_timestamp(CAST(round(t_micros) AS BIGINT)) END;

-- Why a request is not valid, or NULL when it is. Arrival bounds are checked where the
-- arrival is known: per line here (arrived not NULL), per file in the metrics scan.
-- The ranges bound every sum: a byte count is below 2^40 (1 TiB).
-- (NaN sorts above every number in DuckDB, so it fails the upper bounds.)
CREATE OR REPLACE TEMP MACRO request_problem(parse_error, time_raw, t_micros, status_raw, host_raw, bytes_raw,
                                             turnaround_raw, transfer_raw, arrived, max_age_us, max_ahead_us) AS
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN nv(time_raw) IS NULL THEN 'missing time'
        WHEN t_micros IS NULL OR NOT time_in_range(t_micros) THEN 'non-numeric or out-of-range time'
        WHEN nv(status_raw) IS NULL THEN 'missing status'
        WHEN try_cast(nv(status_raw) AS INTEGER) IS NULL THEN 'non-numeric status'
        WHEN try_cast(nv(status_raw) AS INTEGER) NOT BETWEEN 0 AND 999 THEN 'status out of range (0 to 999)'
        WHEN nv(host_raw) IS NULL THEN 'missing host'
        -- A host is a CloudWatch dimension value: printable ASCII, no spaces, at most 255.
        WHEN length(nv(host_raw)) > 255 OR NOT regexp_full_match(nv(host_raw), '[!-~]+')
            THEN 'host is not a valid host name'
        -- One feed touching thousands of hours would write thousands of partitions.
        WHEN arrived IS NOT NULL AND t_micros < epoch_us(arrived) - max_age_us
            THEN 'event time too long before the object landed (EDGESENSE_MAX_EVENT_AGE_DAYS)'
        WHEN arrived IS NOT NULL AND t_micros > epoch_us(arrived) + max_ahead_us
            THEN 'event time too far after the object landed (EDGESENSE_MAX_EVENT_AHEAD_HOURS)'
        WHEN try_cast(nv(bytes_raw) AS DOUBLE) < 0 OR try_cast(nv(bytes_raw) AS DOUBLE) >= 1099511627776
            THEN 'bytes out of range (0 to 1 TiB)'
        WHEN try_cast(nv(turnaround_raw) AS DOUBLE) < 0 OR try_cast(nv(turnaround_raw) AS DOUBLE) > 86400000
            THEN 'turnAroundTimeMSec out of range (0 to 1 day)'
        WHEN try_cast(nv(transfer_raw) AS DOUBLE) < 0 OR try_cast(nv(transfer_raw) AS DOUBLE) > 86400000
            THEN 'transferTimeMSec out of range (0 to 1 day)'
    END;

-- The typed values of a valid request.
CREATE OR REPLACE TEMP MACRO req_host(host_raw) AS lower(nv(host_raw));
-- Percent-decoding happens once per distinct value (match_patterns.sql, decode_text.sql).
CREATE OR REPLACE TEMP MACRO req_path(path_raw) AS
    CASE WHEN nv(path_raw) IS NULL THEN '/' WHEN starts_with(nv(path_raw), '/') THEN nv(path_raw)
         ELSE '/' || nv(path_raw) END;
CREATE OR REPLACE TEMP MACRO req_status(status_raw) AS try_cast(nv(status_raw) AS INTEGER);
CREATE OR REPLACE TEMP MACRO req_bytes(bytes_raw) AS try_cast(nv(bytes_raw) AS BIGINT);
CREATE OR REPLACE TEMP MACRO req_ms(raw) AS try_cast(try_cast(nv(raw) AS DOUBLE) AS INTEGER);
CREATE OR REPLACE TEMP MACRO req_cache(cache_raw) AS try_cast(nv(cache_raw) AS INTEGER);

-- Shared by the JSON formats: why a line did not parse. `parsed` is try(from_json(...)),
-- so json_valid only runs on the lines that failed.
CREATE OR REPLACE TEMP MACRO json_parse_error(line, parsed) AS
    CASE WHEN parsed IS NULL AND NOT json_valid(line) THEN 'not valid JSON (malformed or truncated)'
         WHEN NOT regexp_matches(line, '^\s*\{') THEN 'JSON value is not an object'
         WHEN parsed IS NULL THEN 'JSON fields have unexpected types'
    END;

-- Paths are matched percent-decoded; an invalid escape is left as it is (like the original).
CREATE OR REPLACE TEMP MACRO pct_decode(x, plus) AS
    coalesce(try(url_decode(CASE WHEN plus THEN replace(x, '+', ' ') ELSE x END)), x);
-- The same, skipping the decoder for values with nothing to decode (the common case).
CREATE OR REPLACE TEMP MACRO pct_decode_fast(x, plus) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN strpos(x, '%') = 0 AND NOT (plus AND strpos(x, '+') > 0) THEN x
         ELSE pct_decode(x, plus) END;

-- Split a sum row whose values could pass a BIGINT into parts that cannot (exact: the
-- parts add up to the whole). A batch of more than 2^23 lines of one minute, host,
-- pattern and status is the only way to get there.
CREATE OR REPLACE TEMP MACRO parts_needed(a, b, c) AS
    CAST(greatest(1, ceil(greatest(a, b, c) / 4611686018427387904)) AS BIGINT);
CREATE OR REPLACE TEMP MACRO part_of(total, parts, part) AS
    CAST(total // parts + CASE WHEN part < total % parts THEN 1 ELSE 0 END AS BIGINT);
