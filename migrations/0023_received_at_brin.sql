-- 0023: a BRIN index on platform_events.received_at, for "what arrived since" scans.
--
-- The aggregation job recomputes the buckets touched by recently received events (so a late event,
-- whose occurred_at is hours or days old, is counted); that query reads events by received_at. The
-- server clock makes received_at grow with the heap, which is exactly what BRIN summarises: a few
-- pages per partition, and nearly free on insert (a B-tree here would cost ingest throughput).
CREATE INDEX platform_events_received_at_brin ON platform_events USING brin (received_at)
    WITH (pages_per_range = 32, autosummarize = on);
