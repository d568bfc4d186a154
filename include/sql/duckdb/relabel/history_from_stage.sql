-- Reads: requests (the line path's view). Writes: history.
-- Local log files as re-labelling history: the valid lines of the batch just parsed.
CREATE OR REPLACE TEMP TABLE history AS
SELECT event_time, host, path, status, bytes, turnaround_ms, transfer_ms, cache_status, batch_id, dt, hour
FROM requests;
