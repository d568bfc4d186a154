-- Reads: history, path_patterns. Writes: relabel_meta, the view requests.
-- The history as the requests the line path builds, named with the new rules; then
-- line/minute_metrics.sql, the one definition of a minute row, makes minute_metrics from
-- it. sum_part carries the original batch, so that each batch keeps rows (and a file) of
-- its own and is replaced in place; at most 2^23 lines per row, as there.
-- (Views cannot hold parameters, hence the one-row relabel_meta table.)
CREATE OR REPLACE TEMP TABLE relabel_meta AS SELECT CAST($rules_version AS VARCHAR) AS rules_version;
CREATE OR REPLACE TEMP VIEW requests AS
SELECT h.event_time, h.host, p.url_pattern, h.status, h.bytes, h.turnaround_ms, h.transfer_ms, h.cache_status,
       m.rules_version, h.batch_id, h.dt, h.hour,
       h.batch_id || '/' || CAST(h.rowid // 8388608 AS VARCHAR) AS sum_part
FROM history h JOIN path_patterns p USING (host, path) CROSS JOIN relabel_meta m;
