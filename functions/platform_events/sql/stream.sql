-- Streaming (platform_events.pipeline): claim, enrich, acknowledge, metrics, sync status.
-- Every statement here runs as platform_events_pipeline.

-- name: stream_claim
-- One durable batch, claimed by claim_delivery_batch (migrations/0050; committed at once:
-- autocommit): an expired batch again, else due events with SKIP LOCKED. JSON stays text (the sinks
-- load text; parsing it in Python would cost more than the rest), and the few metadata keys
-- enrichment reads are extracted here (names: pipeline/enrich.py). `defect` names what makes an
-- event undeliverable whatever the sink (rows planted past emit's validation, or from before it):
-- such an event fails on its own instead of failing its batch. Timestamps outside every sink's
-- range (BigQuery TIMESTAMP: 0001-01-01 to 9999-12-31 UTC; Python's datetime too) come back NULL,
-- as loading them would fail the whole fetch; the connection's TimeZone is UTC (store.claim).
SELECT c.batch_id, c.lease_token, c.attempt,
       c.event_id::text AS event_id, c.event_type, c.event_category, c.schema_version,
       c.user_id, c.session_id,
       CASE WHEN c.occurred_at >= '0001-01-01 00:00:00+00' AND c.occurred_at < '10000-01-01 00:00:00+00'
            THEN c.occurred_at END AS occurred_at,
       CASE WHEN c.received_at >= '0001-01-01 00:00:00+00' AND c.received_at < '10000-01-01 00:00:00+00'
            THEN c.received_at END AS received_at,
       c.event_data::text AS event_data, c.metadata::text AS metadata,
       c.metadata ->> 'user_agent' AS user_agent,
       c.metadata ->> 'device_type' AS meta_device_type,
       c.metadata ->> 'browser' AS meta_browser,
       c.metadata ->> 'os' AS meta_os,
       c.metadata #>> '{geo,country}' AS geo_country,
       c.metadata #>> '{geo,region}' AS geo_region,
       c.metadata #>> '{geo,city}' AS geo_city,
       c.metadata ->> 'ip' AS ip,
       c.retry_count,
       CASE WHEN c.event_type IS NULL THEN 'the event row is missing (the ledger row has no event)'
            WHEN NOT (c.occurred_at >= '0001-01-01 00:00:00+00' AND c.occurred_at < '10000-01-01 00:00:00+00')
                THEN format('occurred_at %%s is outside what the warehouses store (years 1 to 9999 UTC)', c.occurred_at)
            WHEN NOT (c.received_at >= '0001-01-01 00:00:00+00' AND c.received_at < '10000-01-01 00:00:00+00')
                THEN format('received_at %%s is outside what the warehouses store (years 1 to 9999 UTC)', c.received_at)
            WHEN jsonb_typeof(c.event_data) <> 'object'
                THEN format('event_data is a JSON %%s, not an object', jsonb_typeof(c.event_data))
            WHEN jsonb_typeof(c.metadata) <> 'object'
                THEN format('metadata is a JSON %%s, not an object', jsonb_typeof(c.metadata))
       END AS defect
  FROM claim_delivery_batch(%(batch_size)s, %(lease)s, %(max_retries)s, %(holder)s) AS c;

-- name: stream_session_facts
-- For each event of the batch that has a session: when the session's first event occurred and the
-- event's 1-based position in it (by occurred_at, then event_id). One statement per batch, served
-- by platform_events_session_idx (0010), reading only the sessions the batch touches.
WITH sessions AS (
    SELECT DISTINCT s.session_id FROM unnest(%(session_ids)s::text[]) AS s(session_id)
), ranked AS (
    SELECT e.event_id,
           -- An out-of-range occurred_at planted in the session is left out: loading it would
           -- fail the lookup for every event of the session.
           min(e.occurred_at) FILTER (WHERE e.occurred_at >= '0001-01-01 00:00:00+00'
                                        AND e.occurred_at < '10000-01-01 00:00:00+00')
               OVER (PARTITION BY e.session_id) AS first_seen_at,
           row_number() OVER (PARTITION BY e.session_id ORDER BY e.occurred_at, e.event_id) AS event_index
      FROM platform_events e
      JOIN sessions s ON s.session_id = e.session_id
)
SELECT r.event_id::text AS event_id, r.first_seen_at, r.event_index
  FROM ranked r
 WHERE r.event_id = ANY (%(event_ids)s::uuid[]);

-- name: stream_sync_started
INSERT INTO warehouse_sync_status (sync_id, batch_id, warehouse_type, batch_start, batch_end, status)
VALUES (%(sync_id)s, %(batch_id)s, %(warehouse)s, %(batch_start)s, %(batch_end)s, 'running');

-- name: stream_sync_finished
UPDATE warehouse_sync_status
   SET events_synced = %(synced)s, events_failed = %(failed)s, sync_duration_ms = %(duration_ms)s,
       status = %(status)s, error_message = left(%(error)s, 2000), finished_at = now()
 WHERE sync_id = %(sync_id)s;

-- name: stream_settle
-- Acknowledge, release and hold in one call fenced by the lease token (PE050 when it is stale).
SELECT settle_delivery_batch(%(batch_id)s, %(lease_token)s, %(delivered)s::uuid[],
                             %(released)s::uuid[], %(errors)s::text[], %(final)s::boolean[],
                             %(max_retries)s, %(backoff)s, %(hold)s, %(sink)s, %(sink_state)s,
                             %(sink_error)s, %(hold_base)s, %(hold_max)s) AS due;

-- name: stream_checkpoint_save
-- The sink's write state of one part of the batch (key: its load id), saved only under the
-- current lease, which it extends: a holder making progress keeps its batch.
UPDATE platform_event_delivery_batches b
   SET checkpoint = jsonb_set(b.checkpoint, ARRAY[%(key)s::text], %(state)s::jsonb),
       lease_expires_at = greatest(b.lease_expires_at, now() + %(lease)s)
 WHERE b.batch_id = %(batch_id)s AND b.lease_token = %(lease_token)s
RETURNING b.batch_id;

-- name: stream_checkpoint_load
SELECT b.checkpoint -> %(key)s::text AS state, b.lease_token = %(lease_token)s AS held
  FROM platform_event_delivery_batches b
 WHERE b.batch_id = %(batch_id)s;

-- name: stream_sink_health
-- Whether the sink is failing and not to be called before retry_at (the stream waits for it).
SELECT h.state, h.last_error, h.failing_since, h.retry_at, h.retry_at > now() AS waiting
  FROM platform_event_sink_health h
 WHERE h.warehouse = %(warehouse)s AND h.state <> 'ok';

-- name: stream_backlog
-- Due pending events, counted up to a cap (the partial index of due rows, 0001): what a fan-out
-- decision needs is "more than one worker drains", not the exact count of a huge backlog.
SELECT count(*) AS n
  FROM (SELECT 1 FROM platform_event_delivery
         WHERE status = 'pending' AND next_attempt_at <= now()
         LIMIT %(cap)s) due;

-- name: stream_metrics
SELECT update_realtime_metrics(%(names)s::text[], %(values)s::double precision[],
                               %(dimensions)s::jsonb[], interval '1 hour', true) AS updated;

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
