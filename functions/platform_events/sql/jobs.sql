-- Statements of the operations jobs (platform_events.jobs): aggregation, cleanup, retention,
-- reprocessing, GDPR erasure and export, status.

-- ---------------------------------------------------------------- aggregation

-- name: jobs_touched_buckets
-- The buckets of events received since a moment: recomputing them counts late events, whose
-- occurred_at may be hours or days before they arrived (BRIN on received_at, migration 0023).
SELECT DISTINCT date_trunc(%(granularity)s, occurred_at, 'UTC') AS bucket_start
  FROM platform_events
 WHERE received_at >= %(since)s
 ORDER BY 1;

-- name: jobs_aggregate
SELECT aggregate_events(%(granularity)s, %(from)s, %(to)s) AS buckets;

-- ---------------------------------------------------------------- cleanup

-- name: jobs_cleanup_metrics
SELECT cleanup_expired_metrics() AS removed;

-- name: jobs_ensure_partitions
SELECT partition_name FROM ensure_platform_event_partitions(%(ahead)s, %(back)s) AS partition_name;

-- ---------------------------------------------------------------- retention

-- name: jobs_retention_preview
SELECT event_type, category, retention, expired FROM platform_events_retention_preview();

-- name: jobs_retention_batch
-- One bounded batch per type (migration 0020); the job repeats it until nothing is deleted.
SELECT event_type, deleted FROM apply_data_retention_policy(%(batch_size)s);

-- name: jobs_retention_policies
-- The retention in force per type (latest version), for the warehouse's own deletes.
SELECT DISTINCT ON (event_type) event_type, retention
  FROM event_schemas
 ORDER BY event_type, version DESC;

-- name: jobs_partition_candidates
-- Leaves (one month, one retention class: migration 0062) whose month ended more than their class
-- (and the one-day future limit) ago: every event in them has expired. Each is checked again,
-- under the retirement lock, by platform_events_detach_partition.
SELECT p.partition_name, p.range_start, p.range_end, p.retention_class
  FROM platform_event_partitions p
 WHERE p.range_end + p.retention + make_interval(secs => platform_events_limit('future_seconds')) <= now()
 ORDER BY p.range_start, p.partition_name;

-- name: jobs_partition_events
-- How many events a leaf holds: its bounds prune the scan to it.
SELECT count(*) AS events FROM platform_events
 WHERE received_at >= %(from)s AND received_at < %(to)s AND retention_class = %(retention_class)s;

-- name: jobs_leaf_expiry
-- A dry run's answer for one leaf: expired, not_expired or undelivered (nothing moved).
SELECT platform_events_leaf_expiry(%(partition)s, false) AS outcome;

-- name: jobs_detach_partition
SELECT platform_events_detach_partition(%(partition)s, %(lock_timeout)s, %(attempts)s) AS outcome;

-- name: jobs_retired_partitions
SELECT table_name, range_start, range_end FROM platform_events_retired_partitions
 ORDER BY range_start, table_name;

-- name: jobs_drop_retired_partition
SELECT platform_events_drop_retired_partition(%(table)s) AS dropped;

-- name: jobs_drop_empty_months
SELECT month FROM platform_events_drop_empty_months() AS month;

-- name: jobs_recycle_ledger
-- The ledger slot older than the dedupe window: undelivered rows to the held slot, then TRUNCATE.
SELECT slot, outcome, held FROM platform_events_recycle_ledger(%(lock_timeout)s, %(attempts)s);

-- name: jobs_purge_quarantine
SELECT purge_platform_events_quarantine() AS purged;

-- name: jobs_purge_dead_letter
SELECT purge_platform_events_dead_letter() AS purged;

-- ---------------------------------------------------------------- reprocessing

-- name: jobs_retirement_shared_lock
-- Held by each reprocess batch: a partition is never detached while its events go back to pending.
SELECT pg_advisory_xact_lock_shared(hashtext('platform_events_partition_retirement'));

-- name: jobs_known_event_types
SELECT DISTINCT event_type FROM event_schemas WHERE event_type = ANY (%(types)s::text[]);

-- name: jobs_requeue_failed
WITH batch AS (
    SELECT s.event_id FROM platform_event_delivery s
     WHERE s.status = 'failed'
       AND (%(types)s::text[] IS NULL OR s.event_type = ANY (%(types)s::text[]))
     LIMIT %(batch_size)s
       FOR UPDATE SKIP LOCKED
)
UPDATE platform_event_delivery d
   SET status = 'pending', retry_count = 0, next_attempt_at = now(), last_error = NULL,
       claimed_at = NULL
  FROM batch
 WHERE d.event_id = batch.event_id;

-- name: jobs_requeue_range
-- One keyset page of delivered or failed events that occurred in [from, to): back to pending, so
-- streaming re-sends them (DuckDB and Redshift replace rows by event_id; for BigQuery, which only
-- appends, the job deletes the page's delivered events there before this commits). Keyset, not
-- "until nothing is left": a concurrent worker delivers requeued events again, which must not
-- loop us. An event without a ledger row was delivered and aged out of the dedupe window
-- (migration 0062): it gets a pending row in the held slot.
WITH page AS (
    SELECT e.occurred_at, e.event_id, e.received_at, e.event_type
      FROM platform_events e
     WHERE e.occurred_at >= %(from)s AND e.occurred_at < %(to)s
       AND (%(types)s::text[] IS NULL OR e.event_type = ANY (%(types)s::text[]))
       AND (e.occurred_at, e.event_id) > (%(after_at)s::timestamptz, %(after_id)s::uuid)
     ORDER BY e.occurred_at, e.event_id
     LIMIT %(batch_size)s
), locked AS (
    SELECT d.event_id, d.status
      FROM platform_event_delivery d
      JOIN page p ON p.event_id = d.event_id AND p.received_at = d.received_at
       FOR UPDATE OF d SKIP LOCKED
), batch AS (
    SELECT p.occurred_at, p.event_id, p.received_at, p.event_type,
           coalesce(l.status, 'delivered') AS status, l.event_id IS NOT NULL AS has_row
      FROM page p
      LEFT JOIN locked l ON l.event_id = p.event_id
     WHERE CASE WHEN l.event_id IS NOT NULL THEN l.status IN ('delivered', 'failed')
                -- no row: aged out (delivered), unless a worker holds it locked right now
                ELSE NOT EXISTS (SELECT 1 FROM platform_event_delivery x
                                  WHERE x.event_id = p.event_id AND x.received_at = p.received_at) END
), requeued AS (
    UPDATE platform_event_delivery d
       SET status = 'pending', retry_count = 0, next_attempt_at = now(), last_error = NULL,
           claimed_at = NULL
      FROM batch
     WHERE batch.has_row AND d.event_id = batch.event_id AND d.received_at = batch.received_at
    RETURNING d.event_id
), revived AS (
    INSERT INTO platform_event_delivery (event_id, received_at, event_type, ledger_slot)
    SELECT b.event_id, b.received_at, b.event_type, platform_events_held_slot()
      FROM batch b WHERE NOT b.has_row
    ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING
    RETURNING event_id
), last AS (
    SELECT p.occurred_at, p.event_id FROM page p ORDER BY p.occurred_at DESC, p.event_id DESC LIMIT 1
), delivered AS (
    -- Already in the warehouse: an append-only sink deletes them before they are re-sent.
    SELECT array_agg(b.event_id::text) AS ids, min(b.occurred_at) AS lo, max(b.occurred_at) AS hi
      FROM batch b WHERE b.status = 'delivered'
)
SELECT (SELECT count(*) FROM requeued) + (SELECT count(*) FROM revived) AS requeued,
       last.occurred_at AS last_at, last.event_id AS last_id,
       delivered.ids AS delivered_ids, delivered.lo AS delivered_from, delivered.hi AS delivered_to
  FROM (SELECT 1) one LEFT JOIN last ON true CROSS JOIN delivered;

-- ---------------------------------------------------------------- erasure and export

-- name: jobs_user_in_flight
-- The user's events a stream worker holds right now: their clear copy may reach the warehouse after
-- the warehouse erasure, so the job erases there again once they are acknowledged.
SELECT d.event_id
  FROM platform_events e
  JOIN platform_event_delivery d ON d.event_id = e.event_id
 WHERE e.user_id = %(user_id)s AND d.status = 'processing';

-- name: jobs_still_in_flight
SELECT count(*) AS n FROM platform_event_delivery
 WHERE event_id = ANY (%(ids)s::uuid[]) AND status = 'processing';

-- name: jobs_user_event_span
-- The occurred_at span of the rows erasure changes (the user's own events and the events that
-- reference the user), read before they are anonymized: the warehouse erases within it (BigQuery's
-- table requires a partition filter on occurred_at).
WITH refs AS (
    SELECT DISTINCT s.event_type, p.key
      FROM event_schemas s, jsonb_each(s.json_schema -> 'properties') p
     WHERE (p.value ->> 'x-user-reference')::boolean IS TRUE
), touched AS (
    SELECT e.occurred_at FROM platform_events e WHERE e.user_id = %(user_id)s
    UNION ALL
    SELECT e.occurred_at
      FROM refs r
      JOIN platform_events e ON e.event_type = r.event_type
                            AND e.event_data @> jsonb_build_object(r.key, %(user_id)s::text)
)
SELECT min(occurred_at) AS lo, max(occurred_at) AS hi FROM touched;

-- name: jobs_anonymize_user
SELECT anonymize_user_events(%(user_id)s) AS changed;

-- name: jobs_erase_quarantine
DELETE FROM platform_events_quarantine WHERE user_id = %(user_id)s;

-- name: jobs_erase_dead_letter
-- Rejected messages carrying the user, as userId or anonymousId (migrations/0041).
DELETE FROM platform_events_dead_letter
 WHERE user_id = %(user_id)s OR anonymous_id = %(user_id)s;

-- name: jobs_erasure_audit_insert
INSERT INTO user_erasure_audit (user_key, key_id, source, requested_by, requested_at,
                                postgres_events, quarantine_events, warehouse, warehouse_events)
VALUES (%(user_key)s, %(key_id)s, %(source)s, %(requested_by)s, %(requested_at)s,
        %(postgres_events)s, %(quarantine_events)s, %(warehouse)s, %(warehouse_events)s)
RETURNING erasure_id, completed_at;

-- name: jobs_erasure_audit_lookup
SELECT erasure_id, key_id, source, requested_by, requested_at, completed_at, postgres_events,
       quarantine_events, warehouse, warehouse_events
  FROM user_erasure_audit
 WHERE user_key = %(user_key)s
 ORDER BY completed_at;

-- name: jobs_erasure_queue_claim
-- The next due queued erasure, locked for this transaction (concurrent runs take different users).
SELECT user_id, source, requested_by, requested_at, attempts
  FROM user_erasure_queue
 WHERE next_attempt_at <= now()
 ORDER BY next_attempt_at
 LIMIT 1
   FOR UPDATE SKIP LOCKED;

-- name: jobs_erasure_queue_done
DELETE FROM user_erasure_queue WHERE user_id = %(user_id)s;

-- name: jobs_erasure_queue_failed
-- Backs off 1, 2, 4... minutes up to a day; the error names the failure kind, never the user.
UPDATE user_erasure_queue
   SET attempts = attempts + 1,
       next_attempt_at = now() + least(interval '1 day', interval '1 minute' * power(2, attempts)),
       last_error = left(%(error)s, 2000)
 WHERE user_id = %(user_id)s;

-- name: jobs_export_user_events
SELECT event_id, event_type, event_category, schema_version, user_id, session_id, occurred_at,
       received_at, event_data, metadata
  FROM platform_events
 WHERE user_id = %(user_id)s
 ORDER BY occurred_at, event_id;

-- name: jobs_export_user_quarantine
SELECT event_id, event_type, user_id, session_id, occurred_at, received_at, event_data, metadata,
       reason
  FROM platform_events_quarantine
 WHERE user_id = %(user_id)s
 ORDER BY received_at, event_id;

-- name: jobs_export_user_dead_letter
SELECT received_at, route, reason_code, reason_field, reason, message_id, message, truncated
  FROM platform_events_dead_letter
 WHERE user_id = %(user_id)s OR anonymous_id = %(user_id)s
 ORDER BY received_at, id;

-- ---------------------------------------------------------------- status

-- name: jobs_status_processing
-- The seed's "processing status": events received in the last hour per status, average retries.
SELECT status, count(*) AS events, round(avg(retry_count)::numeric, 2)::float8 AS avg_retries
  FROM platform_event_delivery
 WHERE received_at > now() - interval '1 hour'
 GROUP BY status
 ORDER BY status;

-- name: jobs_status_syncs
-- The seed's "sync performance": per warehouse over the last day.
SELECT warehouse_type, count(*) AS syncs, round(avg(sync_duration_ms))::bigint AS avg_ms,
       coalesce(sum(events_synced), 0)::bigint AS total_synced,
       coalesce(sum(events_failed), 0)::bigint AS total_failed,
       count(*) FILTER (WHERE status IN ('failed', 'partial')) AS failed_syncs,
       max(finished_at) AS last_finished_at
  FROM warehouse_sync_status
 WHERE created_at > now() - interval '1 day'
 GROUP BY warehouse_type
 ORDER BY warehouse_type;

-- name: jobs_status_failures
-- The seed's "failed events": grouped by type and error, most frequent first.
SELECT event_type, last_error AS error_message, count(*) AS events
  FROM platform_event_delivery
 WHERE status = 'failed'
 GROUP BY event_type, last_error
 ORDER BY events DESC, event_type
 LIMIT %(limit)s;

-- name: jobs_status_backlog
-- Each count reads a partial or status index, not the whole ledger.
SELECT (SELECT count(*) FROM platform_event_delivery WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM platform_event_delivery WHERE status = 'processing') AS processing,
       (SELECT count(*) FROM platform_event_delivery WHERE status = 'failed') AS failed,
       extract(epoch FROM now() - (SELECT min(received_at) FROM platform_event_delivery
                                    WHERE status = 'pending'))::float8 AS oldest_pending_age_s,
       (SELECT count(*) FROM user_erasure_queue) AS erasure_queue;

-- name: jobs_status_sink_health
-- Per warehouse that ever failed: whether streaming can write to it now, and since when not.
SELECT warehouse, state, last_error, failing_since,
       CASE WHEN state <> 'ok' THEN round(extract(epoch FROM now() - failing_since)::numeric, 1)::float8
       END AS failing_for_s,
       consecutive_failures, retry_at, recovered_at
  FROM platform_event_sink_health
 ORDER BY warehouse;

-- name: jobs_status_delivery_batches
-- The durable batches in flight (a small table: only what is claimed and not settled): leased,
-- given back (held while the sink fails, or unwritten when a run stopped), lease run out; how many
-- events the held ones keep back, the most times one was claimed.
SELECT count(*) FILTER (WHERE b.holder IS NOT NULL AND b.lease_expires_at > now()) AS leased,
       count(*) FILTER (WHERE b.holder IS NULL) AS held,
       count(*) FILTER (WHERE b.holder IS NOT NULL AND b.lease_expires_at <= now()) AS expired,
       coalesce(sum(cardinality(b.event_ids)) FILTER (WHERE b.holder IS NULL), 0) AS held_events,
       coalesce(max(b.attempt), 0) AS max_attempt,
       round(extract(epoch FROM now() - min(b.created_at))::numeric, 1)::float8 AS oldest_age_s
  FROM platform_event_delivery_batches b;
