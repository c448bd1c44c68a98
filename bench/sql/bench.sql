-- Every statement the benchmarks run, by name (loaded by bench/sql.py, same format as
-- functions/platform_events/sql/*.sql).

-- ---------------------------------------------------------------- generated data

-- name: catalogue_types
-- The catalogue's types, most frequent first: interaction events dominate real traffic.
SELECT event_type, category
  FROM (SELECT DISTINCT ON (event_type) event_type, category
          FROM event_schemas ORDER BY event_type, version DESC) latest
 WHERE %(category)s::text IS NULL OR category = %(category)s::text
 ORDER BY category = 'interaction' DESC, category = 'user_activity' DESC, event_type;

-- name: generate_events
-- Rows lo..hi of a generated dataset, in sessions of 12 events 20 s apart. Each session has one
-- user (a skewed draw from %(users)s: a few heavy users, a long tail) and starts at a uniform
-- time in [start, start + span); an event's type is a skewed draw from %(types)s (most frequent
-- first). Payloads look like the marketplace's (about 450 bytes with metadata). Per-session draws
-- come from hashes of the session number, so a session's events agree with each other.
INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                             session_id, occurred_at, received_at, event_data, metadata,
                             retention_class)
SELECT gen_random_uuid(), (%(types)s::text[])[t], (%(categories)s::text[])[t], 1,
       'user_' || floor(%(users)s * power(r_user, 3))::bigint, 'sess_' || %(tag)s::text || s,
       at, at + r_val * interval '2 seconds',
       jsonb_build_object('project_id', 'proj_' || floor(r_val * 200000)::int,
                          'title', 'Build a landing page for a ' || (ARRAY['bakery', 'law firm', 'startup', 'dentist', 'gym'])[1 + i %% 5],
                          'category', (ARRAY['web development', 'design', 'writing', 'marketing', 'data', 'mobile', 'devops'])[1 + floor(r_val * 7)::int],
                          'amount', round((r_val * 5000)::numeric, 2), 'currency', 'USD',
                          'query', 'python developer', 'results_count', floor(r_val * 100)::int,
                          'skills', jsonb_build_array('python', 'sql', 'k' || i %% 97)),
       jsonb_build_object('user_agent', (%(agents)s::text[])[1 + floor(r_user * 1000)::int %% cardinality(%(agents)s::text[])],
                          'source', 'web', 'page', '/projects',
                          'geo', jsonb_build_object('country', (ARRAY['US', 'GB', 'DE', 'IN', 'FR', 'BR'])[1 + s %% 6])),
       platform_events_type_retention((%(types)s::text[])[t])::text
  FROM (SELECT i, s, r_user, r_val,
               %(start)s::timestamptz + r_time * %(span)s::interval + (i %% 12) * interval '20 seconds' AS at,
               1 + floor(cardinality(%(types)s::text[]) * power(r_type, 1.7))::int AS t
          FROM (SELECT i, i / 12 AS s,
                       (hashint8extended(i / 12, 1) & 2147483647)::float8 / 2147483648 AS r_user,
                       (hashint8extended(i / 12, 2) & 2147483647)::float8 / 2147483648 AS r_time,
                       random() AS r_type, random() AS r_val
                  FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i) draws) rows;

-- name: ledger_for_range
-- Delivery rows for the events received in [from, to), with the given status (a generated
-- dataset's ledger, as the pipeline would have left it: an emit sets next_attempt_at to its
-- received_at, so claims come in arrival order; one load-time value for all would hand the
-- stream batches scattered over the whole backlog, which no real backlog does).
INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, next_attempt_at,
                                     processed_at)
SELECT event_id, received_at, event_type, %(status)s::text, received_at,
       CASE WHEN %(status)s::text = 'delivered' THEN received_at + interval '5 seconds' END
  FROM platform_events
 WHERE received_at >= %(from)s AND received_at < %(to)s;

-- name: ensure_partitions
SELECT count(*) AS created FROM ensure_platform_event_partitions(%(ahead)s, %(back)s);

-- name: droppable_indexes
-- The indexes and primary keys of the two big tables, to drop before a bulk load and build
-- after it (much faster than maintaining a GIN index row by row). Parent (partitioned) indexes
-- only: dropping one drops its partitions' indexes, creating one builds them.
SELECT c.relname AS table_name, i.relname AS index_name, con.conname AS constraint_name,
       CASE WHEN con.conname IS NOT NULL THEN pg_get_constraintdef(con.oid)
            ELSE pg_get_indexdef(x.indexrelid) END AS definition
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class c ON c.oid = x.indrelid
  LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = c.oid
 WHERE c.relname IN ('platform_events', 'platform_event_delivery')
   AND c.relnamespace = 'public'::regnamespace
 ORDER BY c.relname, i.relname;

-- name: bench_marker_create
CREATE TABLE IF NOT EXISTS bench_dataset (
    name          text PRIMARY KEY,
    version       text NOT NULL,
    events        bigint NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb,
    build_seconds double precision NOT NULL,
    built_at      timestamptz NOT NULL DEFAULT now()
);

-- name: bench_marker_read
SELECT name, version, events, details, build_seconds, built_at FROM bench_dataset;

-- name: bench_marker_write
INSERT INTO bench_dataset (name, version, events, details, build_seconds)
VALUES (%(name)s, %(version)s, %(events)s, %(details)s, %(build_seconds)s);

-- name: database_exists
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = %(name)s) AS found;

-- name: aggregate_range
SELECT aggregate_events(%(granularity)s, %(from)s, %(to)s) AS buckets;

-- ---------------------------------------------------------------- the baseline

-- name: reset_event_tables
TRUNCATE platform_events, platform_event_delivery, platform_metrics_realtime, warehouse_sync_status;

-- name: copy_events
COPY platform_events (event_id, event_type, event_category, schema_version, user_id, session_id,
                      occurred_at, received_at, event_data, metadata, retention_class)
FROM STDIN (FORMAT BINARY);

-- name: copy_ledger
COPY platform_event_delivery (event_id, received_at, event_type) FROM STDIN (FORMAT BINARY);

-- name: raw_insert_event
-- One event and its ledger row by plain INSERTs: what a single emit costs without validation.
WITH stored AS (
    INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                 session_id, occurred_at, event_data, metadata, retention_class)
    VALUES (%(event_id)s, %(event_type)s, %(category)s, 1, %(user_id)s, %(session_id)s,
            %(occurred_at)s, %(event_data)s, %(metadata)s, %(retention_class)s)
    RETURNING event_id, received_at, event_type)
INSERT INTO platform_event_delivery (event_id, received_at, event_type)
SELECT event_id, received_at, event_type FROM stored;

-- name: emit_one
SELECT emit_platform_event(%(event_type)s, %(event_data)s, %(user_id)s, %(session_id)s,
                           %(metadata)s, %(occurred_at)s, %(event_id)s) AS event_id;

-- name: naive_queue_setup
-- The seed's shape: queue state on the event row, the seed's indexes (B-tree on time, user,
-- type, GIN on the payload, composite on status + time). No partial index on pending rows.
DROP TABLE IF EXISTS bench_naive_queue;
CREATE TABLE bench_naive_queue (
    event_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type        text NOT NULL,
    user_id           text,
    session_id        text,
    occurred_at       timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    event_data        jsonb NOT NULL,
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
    processing_status text NOT NULL DEFAULT 'pending',
    retry_count       integer NOT NULL DEFAULT 0,
    error_message     text,
    processed_at      timestamptz);
CREATE INDEX ON bench_naive_queue (occurred_at);
CREATE INDEX ON bench_naive_queue (user_id, occurred_at);
CREATE INDEX ON bench_naive_queue (event_type, occurred_at);
CREATE INDEX ON bench_naive_queue USING gin (event_data jsonb_path_ops);
CREATE INDEX ON bench_naive_queue (processing_status, created_at);

-- name: naive_queue_fill
INSERT INTO bench_naive_queue (event_id, event_type, user_id, session_id, occurred_at, created_at,
                               event_data, metadata)
SELECT event_id, event_type, user_id, session_id, occurred_at, received_at, event_data, metadata
  FROM platform_events;

-- name: naive_claim
WITH due AS (SELECT event_id FROM bench_naive_queue
              WHERE processing_status = 'pending'
              ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
UPDATE bench_naive_queue q SET processing_status = 'processing'
  FROM due WHERE q.event_id = due.event_id
RETURNING q.event_id, q.event_type, q.user_id, q.occurred_at, q.event_data, q.metadata;

-- name: naive_ack
UPDATE bench_naive_queue SET processing_status = 'delivered', processed_at = now()
 WHERE event_id = ANY (%(ids)s);

-- name: naive_queue_drop
DROP TABLE IF EXISTS bench_naive_queue;

-- ---------------------------------------------------------------- streaming

-- name: requeue_all
-- Back to the backlog as it was loaded: next_attempt_at = received_at, so the second drain claims
-- in arrival order too. (One value for all made that drain claim in heap order instead, whole
-- sessions per batch, a cheaper workload than the first drain's: 2 workers were compared with 1
-- on different work.)
UPDATE platform_event_delivery
   SET status = 'pending', next_attempt_at = received_at, claimed_at = NULL, processed_at = NULL,
       retry_count = 0, last_error = NULL;

-- name: delivery_latencies
-- Seconds from each batch's emit call (client clock) to its acknowledgement (after the warehouse
-- commit); one row per event.
SELECT extract(epoch FROM d.processed_at) - sent.at AS seconds
  FROM unnest(%(ids)s::uuid[], %(sent)s::float8[]) AS sent(event_id, at)
  JOIN platform_event_delivery d ON d.event_id = sent.event_id
 WHERE d.status = 'delivered';

-- name: delivery_counts
SELECT status, count(*) AS n FROM platform_event_delivery GROUP BY status;

-- ---------------------------------------------------------------- reads

-- name: sample_users
-- Users with at least a page of events, for query_events filters.
SELECT user_id FROM platform_events TABLESAMPLE SYSTEM (1) WHERE user_id IS NOT NULL LIMIT %(n)s;

-- name: raw_dashboard
-- The dashboard's "last 24 hours per type" counted from the raw events: what the seed's
-- dashboard did, the baseline of the aggregation-backed query.
SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users
  FROM platform_events
 WHERE occurred_at >= now() - interval '24 hours'
 GROUP BY event_type
 ORDER BY events DESC;

-- name: raw_events_by_user
SELECT event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at,
       received_at, event_data, metadata
  FROM platform_events WHERE user_id = %(user_id)s
 ORDER BY occurred_at DESC, event_id DESC LIMIT %(limit)s;

-- name: raw_events_by_type
SELECT event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at,
       received_at, event_data, metadata
  FROM platform_events
 WHERE event_type = %(event_type)s AND occurred_at >= %(since)s
 ORDER BY occurred_at DESC, event_id DESC LIMIT %(limit)s;

-- name: raw_events_containing
SELECT event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at,
       received_at, event_data, metadata
  FROM platform_events WHERE event_data @> %(data)s
 ORDER BY occurred_at DESC, event_id DESC LIMIT %(limit)s;

-- name: raw_events_latest
SELECT event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at,
       received_at, event_data, metadata
  FROM platform_events ORDER BY occurred_at DESC, event_id DESC LIMIT %(limit)s;

-- name: refresh_realtime
-- The live counters streaming keeps (one per type and per category), refreshed so they are
-- unexpired when the dashboard reads them.
SELECT update_realtime_metrics(array_agg('events_delivered'::text), array_agg(n::float8),
                               array_agg(jsonb_build_object('event_type', event_type)),
                               interval '1 hour', false)
  FROM (SELECT event_type, count(*) AS n FROM platform_events
         WHERE occurred_at >= now() - interval '1 hour' GROUP BY event_type) recent;

-- ---------------------------------------------------------------- aggregation

-- name: raw_hour_aggregate
-- The hour's figures by a plain GROUP BY: the baseline of aggregate_events_hourly.
SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users,
       count(DISTINCT session_id) AS sessions
  FROM platform_events
 WHERE occurred_at >= %(from)s AND occurred_at < %(to)s
 GROUP BY event_type;

-- name: hour_events
SELECT count(*) AS n FROM platform_events WHERE occurred_at >= %(from)s AND occurred_at < %(to)s;

-- name: aggregate_hour
SELECT aggregate_events_hourly(%(from)s, %(to)s) AS buckets;

-- ---------------------------------------------------------------- retention

-- name: clone_database
-- identifiers are bench-owned names, never input
CREATE DATABASE {target} TEMPLATE {template} STRATEGY FILE_COPY;

-- name: expired_events
SELECT count(*) AS n
  FROM platform_events e
  JOIN (SELECT DISTINCT ON (event_type) event_type, retention
          FROM event_schemas ORDER BY event_type, version DESC) p USING (event_type)
 WHERE e.occurred_at < now() - p.retention;

-- name: sync_span
-- Seconds from the first batch's claim to the last batch's acknowledgement, from the pipeline's
-- own warehouse_sync_status rows (process start-up excluded).
SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 AS seconds,
       sum(events_synced)::bigint AS events, count(*) AS batches
  FROM warehouse_sync_status WHERE status = 'success';

-- name: reset_sync_status
TRUNCATE warehouse_sync_status;

-- ---------------------------------------------------------------- the queue alone (peer, history)

-- name: queue_claim
-- One durable batch, every column the stream reads, ids and JSON as text (as stream_claim fetches
-- them: parsing JSON in Python would measure the client, not the queue).
SELECT c.batch_id, c.lease_token, c.attempt, c.event_id::text AS event_id, c.event_type,
       c.event_category,
       c.schema_version, c.user_id, c.session_id, c.occurred_at, c.received_at,
       c.event_data::text AS event_data, c.metadata::text AS metadata, c.retry_count
  FROM claim_delivery_batch(%(batch_size)s, %(lease)s, %(max_retries)s, %(holder)s) AS c;

-- name: queue_settle
-- Every member of the batch delivered, nothing released, the sink healthy: the acknowledgement of
-- a batch the warehouse took whole (stream_settle without the metrics and sync-status writes).
SELECT settle_delivery_batch(%(batch_id)s, %(lease_token)s, %(delivered)s::uuid[],
                             '{}'::uuid[], '{}'::text[], '{}'::boolean[], %(max_retries)s,
                             %(backoff)s, false, 'duckdb', 'ok', NULL, %(hold_base)s,
                             %(hold_max)s) AS due;

-- name: queue_reset
TRUNCATE platform_events, platform_event_delivery, platform_event_delivery_batches,
         platform_metrics_realtime, warehouse_sync_status;

-- name: pgmq_create
SELECT pgmq.create(%(queue)s);

-- name: pgmq_queue_exists
SELECT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = %(queue)s) AS found;

-- name: pgmq_drop
SELECT pgmq.drop_queue(%(queue)s) AS dropped;

-- name: pgmq_send_batch
-- The messages travel as one JSON array, made the jsonb[] send_batch takes on the server: the
-- encoding our batched emit uses for its payload columns (emit.column_params). A Python list of
-- Jsonb (pgmq_send_batch_list, what pgmq's own client sends) spends most of a call in psycopg's
-- array encoding, which would measure the driver, not pgmq.
SELECT msg_id
  FROM pgmq.send_batch(%(queue)s, ARRAY(SELECT m.value
                                          FROM jsonb_array_elements(%(msgs)s::jsonb)
                                               WITH ORDINALITY AS m(value, n)
                                         ORDER BY m.n)) AS msg_id;

-- name: pgmq_send_batch_list
SELECT msg_id FROM pgmq.send_batch(%(queue)s, %(msgs)s::jsonb[]) AS msg_id;

-- name: pgmq_read
-- The message as text, as queue_claim fetches an event's JSON.
SELECT msg_id, read_ct, enqueued_at, vt, message::text AS message
  FROM pgmq.read(%(queue)s, %(vt)s, %(qty)s);

-- name: pgmq_archive
SELECT msg_id FROM pgmq.archive(%(queue)s, %(ids)s::bigint[]) AS msg_id;

-- name: pgmq_queue_length
SELECT queue_length AS n FROM pgmq.metrics(%(queue)s);

-- ---------------------------------------------------------------- claim with history

-- name: history_ledger
-- The generated history's ledger, in one statement, as the stream and the ledger's recycling
-- leave it (migration 0062): the events received in the dedupe window's two slots delivered a few
-- seconds to a minute after they arrived, in their slot; older delivered events have no row.
INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, processed_at,
                                     ledger_slot)
SELECT event_id, received_at, event_type, 'delivered',
       received_at + (2 + 58 * random()) * interval '1 second',
       platform_events_ledger_slot(received_at)
  FROM platform_events
 WHERE received_at >= now() - 2 * make_interval(days => platform_events_limit('dedupe_window_days'))
   AND platform_events_ledger_slot(received_at) IN (
           platform_events_ledger_slot(now()),
           platform_events_ledger_slot(now() - make_interval(days => platform_events_limit('dedupe_window_days'))));

-- name: ledger_count
SELECT count(*) AS n FROM platform_event_delivery;

-- name: pending_count
SELECT count(*) AS n FROM platform_event_delivery WHERE status = 'pending';
