-- Reads: nothing. Writes: scan_partials (empty), filled by scan.sql.
-- What one narrow scan leaves behind, two kinds of row (grouping sets of one pass):
--   'g' minute x raw host x raw path x raw status: the sums every metric is made of, and
--       the count of its lines with a value out of range;
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
    out_of_range      BIGINT      -- lines with a byte count or a time outside request_problem's ranges
);
