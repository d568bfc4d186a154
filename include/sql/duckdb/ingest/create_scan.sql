-- Reads: nothing. Writes: scan_partials (empty), filled by scan.sql.
-- What one narrow scan leaves behind, three kinds of row (grouping sets of one pass):
--   'g' minute x host x raw path x status: the sums every metric is made of;
--   'l' minute x host x turnaround value: the latency distribution;
--   'f' one row per file: its lines, how many are not valid requests, its event-time span.
CREATE OR REPLACE TEMP TABLE scan_partials (
    kind              VARCHAR,
    local_file        VARCHAR,
    minute_us         BIGINT,     -- the event minute, as microseconds since 1970 // 60e6
    host              VARCHAR,
    path_raw          VARCHAR,
    status            INTEGER,
    turnaround_ms     INTEGER,
    requests          HUGEINT,
    bytes             HUGEINT,
    turnaround_ms_sum HUGEINT,
    turnaround_count  HUGEINT,
    transfer_ms_sum   HUGEINT,
    cache_hits        HUGEINT,
    lines             HUGEINT,
    bad               HUGEINT,
    first_us          DOUBLE,
    last_us           DOUBLE
);
