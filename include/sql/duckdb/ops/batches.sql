-- Reads: history. Writes: nothing (returns rows).
-- The batches whose minute_metrics were read: whose plans and ledgers explain a mismatch.
SELECT DISTINCT batch_id FROM history WHERE batch_id IS NOT NULL ORDER BY batch_id;
