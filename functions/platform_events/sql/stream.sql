-- Streaming (platform_events.pipeline): claim, enrich, acknowledge, metrics, sync status.
-- Every statement here runs as platform_events_pipeline.

-- name: stream_claim
-- One batch, claimed with SKIP LOCKED by get_pending_events (committed at once: autocommit).
-- JSON stays text (the sinks load text; parsing it in Python would cost more than the rest), and
-- the few metadata keys enrichment reads are extracted here (names: pipeline/enrich.py).
SELECT c.event_id::text AS event_id, c.event_type, c.event_category, c.schema_version,
       c.user_id, c.session_id, c.occurred_at, c.received_at,
       c.event_data::text AS event_data, c.metadata::text AS metadata,
       c.metadata ->> 'user_agent' AS user_agent,
       c.metadata ->> 'device_type' AS meta_device_type,
       c.metadata ->> 'browser' AS meta_browser,
       c.metadata ->> 'os' AS meta_os,
       c.metadata #>> '{geo,country}' AS geo_country,
       c.metadata #>> '{geo,region}' AS geo_region,
       c.metadata #>> '{geo,city}' AS geo_city,
       c.metadata ->> 'ip' AS ip,
       c.retry_count
  FROM get_pending_events(%(batch_size)s, %(visibility_timeout)s, %(max_retries)s) AS c;

-- name: stream_session_facts
-- For each event of the batch that has a session: when the session's first event occurred and the
-- event's 1-based position in it (by occurred_at, then event_id). One statement per batch, served
-- by platform_events_session_idx (0010), reading only the sessions the batch touches.
WITH sessions AS (
    SELECT DISTINCT s.session_id FROM unnest(%(session_ids)s::text[]) AS s(session_id)
), ranked AS (
    SELECT e.event_id,
           min(e.occurred_at) OVER (PARTITION BY e.session_id) AS first_seen_at,
           row_number() OVER (PARTITION BY e.session_id ORDER BY e.occurred_at, e.event_id) AS event_index
      FROM platform_events e
      JOIN sessions s ON s.session_id = e.session_id
)
SELECT r.event_id::text AS event_id, r.first_seen_at, r.event_index
  FROM ranked r
 WHERE r.event_id = ANY (%(event_ids)s::uuid[]);

-- name: stream_sync_started
INSERT INTO warehouse_sync_status (sync_id, warehouse_type, batch_start, batch_end, status)
VALUES (%(sync_id)s, %(warehouse)s, %(batch_start)s, %(batch_end)s, 'running');

-- name: stream_sync_finished
UPDATE warehouse_sync_status
   SET events_synced = %(synced)s, events_failed = %(failed)s, sync_duration_ms = %(duration_ms)s,
       status = %(status)s, error_message = left(%(error)s, 2000), finished_at = now()
 WHERE sync_id = %(sync_id)s;

-- name: stream_ack
SELECT mark_event_processed(%(event_ids)s::uuid[], true) AS changed;

-- name: stream_release
-- A failed attempt: retry_count + 1, next attempt after backoff, failed after max_retries.
SELECT mark_event_processed(%(event_ids)s::uuid[], false, %(error)s, %(max_retries)s,
                            %(backoff)s) AS changed;

-- name: stream_metrics
SELECT update_realtime_metrics(%(names)s::text[], %(values)s::double precision[],
                               %(dimensions)s::jsonb[], interval '1 hour', true) AS updated;

-- name: stream_requeue
-- Puts the given events back to pending so the next stream run re-sends them (the sinks replace
-- rows by event_id). Rows a worker holds right now are left to it.
UPDATE platform_event_delivery d
   SET status = 'pending', next_attempt_at = now(), claimed_at = NULL, last_error = NULL,
       retry_count = 0
 WHERE d.event_id = ANY (%(event_ids)s::uuid[]) AND d.status <> 'processing';

-- name: stream_demo_syncs
SELECT warehouse_type AS warehouse, status, events_synced AS synced, events_failed AS failed,
       sync_duration_ms AS ms, to_char(started_at, 'HH24:MI:SS.MS') AS started
  FROM warehouse_sync_status
 ORDER BY started_at DESC
 LIMIT 8;

-- name: stream_demo_lag
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::numeric, 1) AS p50_s,
       round(max(extract(epoch FROM processed_at - received_at))::numeric, 1) AS max_s,
       (SELECT count(*) FROM platform_event_delivery WHERE status = 'pending') AS pending
  FROM platform_event_delivery
 WHERE status = 'delivered';
