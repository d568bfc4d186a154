-- Reads: nothing. Writes: parsed_unreadable.
-- Lines the CSV reader refused, in the shape every format view has (see normalize.sql).
CREATE OR REPLACE TEMP TABLE parsed_unreadable (
    object_key     VARCHAR,
    source_format  VARCHAR,
    line           VARCHAR,
    parse_error    VARCHAR,
    time_raw       VARCHAR,
    time_unit      VARCHAR,   -- 's', 'ms', or 'auto' (ms when the number is > 1e11)
    status_raw     VARCHAR,
    host           VARCHAR,
    method         VARCHAR,
    path_raw       VARCHAR,
    query          VARCHAR,
    bytes_raw      VARCHAR,
    turnaround_raw VARCHAR,
    transfer_raw   VARCHAR,
    client_ip      VARCHAR,
    referer_raw    VARCHAR,
    ua_raw         VARCHAR,
    cache_raw      VARCHAR,
    country        VARCHAR,
    error_code     VARCHAR,
    security_rules VARCHAR,
    request_id     VARCHAR,
    stream_id      VARCHAR,
    cp_code        VARCHAR,
    proto          VARCHAR,
    content_type   VARCHAR,
    edge_ip        VARCHAR,
    plus_is_space  BOOLEAN
);
