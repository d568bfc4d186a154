-- Reads: nothing. Writes: scan_partials (empty), filled by scan.sql.
-- What one narrow scan leaves behind, two kinds of row (grouping sets of one pass):
--   'g' minute x raw host x raw path x raw status: the sums every metric is made of, and
--       the value ranges that tell whether every line of the group is a valid request;
--   'l' minute x raw host x turnaround value: the latency distribution.
-- local_file is NULL unless the scan was asked to keep files apart (a suspicious batch).
CREATE OR REPLACE TEMP TABLE scan_partials (
    kind              VARCHAR,
    local_file        VARCHAR,
    minute_us         BIGINT,     -- the event minute (microseconds since 1970 // 60e6); NULL: bad time
    host_raw          VARCHAR,
    path_raw          VARCHAR,
    status_raw        VARCHAR,
    turnaround_ms     INTEGER,
    requests          HUGEINT,
    bytes             HUGEINT,
    turnaround_ms_sum HUGEINT,
    turnaround_count  HUGEINT,
    transfer_ms_sum   HUGEINT,
    cache_hits        HUGEINT,
    bytes_min         DOUBLE,
    bytes_max         DOUBLE,
    turnaround_min    DOUBLE,
    turnaround_max    DOUBLE,
    transfer_min      DOUBLE,
    transfer_max      DOUBLE,
    first_us          DOUBLE,
    last_us           DOUBLE
);
