-- The platform-events schema as the migration step leaves it (the migrations, then the built-in
-- event catalogue's rows from functions/platform_events/event_types): the current body of every
-- function, every table, index, view, policy and grant, in one file. GENERATED from a freshly
-- migrated database (pg_dump, rearranged for reading) by `make schema`: do not edit it by hand;
-- change the schema with a new migration in this folder, then run `make schema`.
--
-- Why a file beside the migrations and not one squashed baseline: deployed databases have
-- applied the migrations, each recorded with its checksum by `platform-events migrate`, so the
-- migrations stay the one way a database changes. This file is the reading copy (grep finds the
-- live body of a function here, not a stale one in an old migration) and a loadable snapshot:
-- run as the schema owner on an empty database it builds the same database (the group roles
-- are created when missing) and records migrations 0001..0062 as applied, so `migrate`
-- continues from there. tests/integration/test_schema_file.py compares its catalog with the
-- migrations' (tables, columns, constraints, indexes, functions, triggers, views, sequences,
-- grants, policies, partitioning, seed rows) on PostgreSQL 18 and 15, and fails when stale.
--
-- Names are schema-qualified and search_path is empty while loading, as pg_dump writes them.

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
SET default_table_access_method = heap;

-- The cluster's group roles the grants below name (0006): created when missing, never altered.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
        'platform_events_analyst',
        'platform_events_app',
        'platform_events_ingest',
        'platform_events_pipeline'
    ]
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END;
$$;

-- ================================================================================================
-- Types
-- ================================================================================================

-- type platform_event_check_result
-- created in 0003_event_functions
CREATE TYPE public.platform_event_check_result AS (
	error_code text,
	error_field text,
	error_message text,
	category text,
	schema_version integer
);

-- ================================================================================================
-- Functions
-- ================================================================================================

-- function aggregate_events(text, timestamp with time zone, timestamp with time zone)
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.aggregate_events(p_granularity text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_step  interval;
    v_from  timestamptz;
    v_to    timestamptz;
    v_count integer;
BEGIN
    v_step := CASE p_granularity WHEN 'hour' THEN interval '1 hour'
                                 WHEN 'day' THEN interval '1 day'
                                 WHEN 'week' THEN interval '1 week' END;
    IF v_step IS NULL THEN
        RAISE EXCEPTION 'granularity must be hour, day or week, got %', quote_nullable(p_granularity)
            USING ERRCODE = '22023', COLUMN = 'granularity';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'aggregation range needs from < to' USING ERRCODE = '22023', COLUMN = 'from';
    END IF;
    IF p_to - p_from > interval '400 days' THEN
        RAISE EXCEPTION 'aggregation range is limited to 400 days per call; split longer backfills'
            USING ERRCODE = '22023', COLUMN = 'to';
    END IF;
    v_from := date_trunc(p_granularity, p_from, 'UTC');
    v_to := date_trunc(p_granularity, p_to, 'UTC');
    IF v_to < p_to THEN
        v_to := v_to + v_step;
    END IF;
    -- Two runs over the same buckets would race on the unique key: take turns per granularity.
    PERFORM pg_advisory_xact_lock(hashtext('aggregate_events:' || p_granularity));

    DELETE FROM event_aggregations
     WHERE granularity = p_granularity AND bucket_start >= v_from AND bucket_start < v_to;

    INSERT INTO event_aggregations (bucket_start, granularity, event_type, event_count, unique_users,
                                    unique_sessions, metrics, computed_at)
    SELECT date_trunc(p_granularity, e.occurred_at, 'UTC'), p_granularity, e.event_type,
           count(*), count(DISTINCT e.user_id), count(DISTINCT e.session_id),
           jsonb_strip_nulls(jsonb_build_object(
               'amount_sum', sum(CASE WHEN jsonb_typeof(e.event_data -> 'amount') = 'number'
                                      THEN (e.event_data ->> 'amount')::numeric END),
               'anonymous_events', nullif(count(*) FILTER (WHERE e.user_id IS NULL), 0))),
           now()
      FROM platform_events e
     WHERE e.occurred_at >= v_from AND e.occurred_at < v_to
     GROUP BY 1, 3;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.aggregate_events(p_granularity text, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.aggregate_events(p_granularity text, p_from timestamp with time zone, p_to timestamp with time zone) TO platform_events_pipeline;

-- function aggregate_events_hourly(timestamp with time zone, timestamp with time zone)
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.aggregate_events_hourly(p_from timestamp with time zone DEFAULT (now() - '03:00:00'::interval), p_to timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE sql
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT aggregate_events('hour', p_from, p_to);
$$;
REVOKE ALL ON FUNCTION public.aggregate_events_hourly(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.aggregate_events_hourly(p_from timestamp with time zone, p_to timestamp with time zone) TO platform_events_pipeline;

-- function anonymize_user_events(text)
-- created in 0004_metrics_aggregation_retention; replaced in 0022_user_erasure
CREATE FUNCTION public.anonymize_user_events(p_user_id text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count bigint := 0;
    v_more  bigint;
    v_ref   record;
BEGIN
    IF p_user_id IS NULL OR p_user_id = '' THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = '22023', COLUMN = 'user_id';
    END IF;
    WITH personal AS (
        SELECT s.event_type, array_agg(DISTINCT p.key) AS keys
          FROM event_schemas s, jsonb_each(s.json_schema -> 'properties') p
         WHERE (p.value ->> 'x-personal')::boolean IS TRUE
         GROUP BY s.event_type
    )
    UPDATE platform_events e
       SET user_id = NULL,
           session_id = NULL,
           event_data = platform_events_scrub_json(
                            e.event_data - coalesce((SELECT pe.keys FROM personal pe
                                                      WHERE pe.event_type = e.event_type),
                                                    ARRAY[]::text[]),
                            p_user_id),
           metadata = platform_events_scrub_json(e.metadata - platform_events_personal_metadata_keys(),
                                                 p_user_id)
                      || jsonb_build_object('anonymized', true)
     WHERE e.user_id = p_user_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;

    FOR v_ref IN
        SELECT DISTINCT s.event_type, p.key
          FROM event_schemas s, jsonb_each(s.json_schema -> 'properties') p
         WHERE (p.value ->> 'x-user-reference')::boolean IS TRUE
    LOOP
        UPDATE platform_events e
           SET event_data = jsonb_set(e.event_data, ARRAY[v_ref.key], 'null'::jsonb)
         WHERE e.event_type = v_ref.event_type
           AND e.event_data @> jsonb_build_object(v_ref.key, p_user_id);
        GET DIAGNOSTICS v_more = ROW_COUNT;
        v_count := v_count + v_more;
    END LOOP;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.anonymize_user_events(p_user_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.anonymize_user_events(p_user_id text) TO platform_events_pipeline;

-- function apply_data_retention_policy(integer)
-- created in 0004_metrics_aggregation_retention; replaced in 0020_bounded_retention_batches, 0062_partitions_by_retention
CREATE FUNCTION public.apply_data_retention_policy(p_batch_size integer DEFAULT 5000) RETURNS TABLE(event_type text, category text, retention interval, deleted bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
DECLARE
    v_leaf   record;
    v_policy record;
    v_gone   text[] := ARRAY[]::text[];  -- the type of each deleted event
    v_more   text[];
    v_shortest interval;
    v_policy_sql constant text :=
        '(SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
            FROM event_schemas s ORDER BY s.event_type, s.version DESC)';
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 OR p_batch_size > 100000 THEN
        RAISE EXCEPTION 'batch size must be between 1 and 100000' USING ERRCODE = '22023',
            COLUMN = 'batch_size';
    END IF;
    -- Reprocessing puts delivered events back to pending under this lock, shared.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_partition_retirement'));
    -- No late arrival is expired before the shortest retention: the index scans start there.
    SELECT min(s.retention) INTO v_shortest FROM event_schemas s;
    FOR v_leaf IN
        SELECT p.partition_name AS name, p.range_start AS late_before, p.retention
          FROM platform_event_partitions p
        UNION ALL  -- every row of the default partition counts as late
        SELECT 'platform_events_default', 'infinity'::timestamptz, NULL::interval
         ORDER BY 2, 1
    LOOP
        EXIT WHEN cardinality(v_gone) >= p_batch_size;
        EXECUTE format(
            'WITH gone AS (
                 DELETE FROM %1$I e
                  WHERE e.ctid = ANY (ARRAY(
                        SELECT x.ctid FROM %1$I x JOIN %2$s p ON p.event_type = x.event_type
                         WHERE x.occurred_at < least(%3$L::timestamptz, now() - %5$L::interval)
                           AND x.occurred_at < now() - p.retention
                           AND NOT platform_events_undelivered(x.event_id, x.received_at)
                         LIMIT %4$s))
                 RETURNING e.event_type, e.event_id, e.received_at),
             ledger AS (
                 DELETE FROM platform_event_delivery d USING gone g
                  WHERE d.event_id = g.event_id AND d.received_at = g.received_at)
             SELECT array_agg(g.event_type) FROM gone g',
            v_leaf.name, v_policy_sql, v_leaf.late_before, p_batch_size - cardinality(v_gone),
            v_shortest) INTO v_more;
        v_gone := v_gone || coalesce(v_more, ARRAY[]::text[]);
        CONTINUE WHEN v_leaf.retention IS NULL;
        FOR v_policy IN EXECUTE format('SELECT * FROM %s p WHERE p.retention < %L', v_policy_sql,
                                       v_leaf.retention) LOOP
            EXIT WHEN cardinality(v_gone) >= p_batch_size;
            EXECUTE format(
                'WITH gone AS (
                     DELETE FROM %1$I e
                      WHERE e.ctid = ANY (ARRAY(
                            SELECT x.ctid FROM %1$I x
                             WHERE x.event_type = %2$L AND x.occurred_at < now() - %3$L::interval
                               AND NOT platform_events_undelivered(x.event_id, x.received_at)
                             LIMIT %4$s))
                     RETURNING e.event_type, e.event_id, e.received_at),
                 ledger AS (
                     DELETE FROM platform_event_delivery d USING gone g
                      WHERE d.event_id = g.event_id AND d.received_at = g.received_at)
                 SELECT array_agg(g.event_type) FROM gone g',
                v_leaf.name, v_policy.event_type, v_policy.retention,
                p_batch_size - cardinality(v_gone)) INTO v_more;
            v_gone := v_gone || coalesce(v_more, ARRAY[]::text[]);
        END LOOP;
    END LOOP;

    RETURN QUERY EXECUTE format(
        'SELECT p.event_type, c.category, p.retention, coalesce(g.n, 0)
           FROM %s p
           JOIN LATERAL (SELECT s.category FROM event_schemas s WHERE s.event_type = p.event_type
                          ORDER BY s.version DESC LIMIT 1) c ON true
           LEFT JOIN (SELECT t AS event_type, count(*) AS n FROM unnest($1) AS t GROUP BY t) g
                  ON g.event_type = p.event_type
          ORDER BY p.event_type', v_policy_sql) USING v_gone;
END;
$_$;
REVOKE ALL ON FUNCTION public.apply_data_retention_policy(p_batch_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.apply_data_retention_policy(p_batch_size integer) TO platform_events_pipeline;

-- function claim_delivery_batch(integer, interval, integer, text)
-- created in 0050_durable_delivery_batches; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.claim_delivery_batch(p_batch_size integer, p_lease interval, p_max_retries integer, p_holder text) RETURNS TABLE(batch_id uuid, lease_token uuid, attempt integer, event_id uuid, event_type text, event_category text, schema_version integer, user_id text, session_id text, occurred_at timestamp with time zone, received_at timestamp with time zone, event_data jsonb, metadata jsonb, retry_count integer)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_batch   uuid;
    v_token   uuid := gen_random_uuid();
    v_attempt integer := 1;
    v_members uuid[];
    v_stuck   uuid[];
    v_due     uuid[];
    v_slots   smallint[];
    v_ids     uuid[];
    v_retries integer[];
    v_min     timestamptz;
    v_max     timestamptz;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 OR p_batch_size > 50000 THEN
        RAISE EXCEPTION 'batch size must be between 1 and 50000, got %', p_batch_size
            USING ERRCODE = '22023', COLUMN = 'batch_size';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = '22023', COLUMN = 'lease';
    END IF;

    LOOP
        v_batch := NULL;
        UPDATE platform_event_delivery_batches b
           SET lease_token = v_token, lease_expires_at = now() + p_lease, holder = p_holder,
               attempt = b.attempt + 1, claimed_at = now()
         WHERE b.batch_id = (SELECT x.batch_id FROM platform_event_delivery_batches x
                              WHERE x.lease_expires_at <= now()
                              ORDER BY x.lease_expires_at
                              LIMIT 1
                              FOR UPDATE SKIP LOCKED)
        RETURNING b.batch_id, b.attempt, b.event_ids, b.received_lo, b.received_hi
             INTO v_batch, v_attempt, v_members, v_min, v_max;
        EXIT WHEN v_batch IS NULL;
        SELECT array_agg(d.event_id ORDER BY d.event_id), array_agg(d.retry_count ORDER BY d.event_id)
          INTO v_ids, v_retries
          FROM unnest(v_members) AS m(event_id)
          JOIN platform_event_delivery d ON d.event_id = m.event_id
         WHERE d.batch_id = v_batch AND d.status = 'processing';
        EXIT WHEN v_ids IS NOT NULL;
        -- Nothing left in it (cannot happen through settle_delivery_batch): drop it, look again.
        DELETE FROM platform_event_delivery_batches b WHERE b.batch_id = v_batch;
    END LOOP;

    IF v_batch IS NULL THEN
        v_attempt := 1;
        SELECT array_agg(s.event_id) INTO v_stuck
          FROM (SELECT s.event_id FROM platform_event_delivery s
                 WHERE s.claimed_at < now() - p_lease AND s.batch_id IS NULL
                 FOR UPDATE SKIP LOCKED) s;
        IF v_stuck IS NOT NULL THEN
            UPDATE platform_event_delivery d
               SET retry_count = d.retry_count + 1,
                   status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
                   next_attempt_at = now(),
                   last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                                       p_lease),
                   claimed_at = NULL
             WHERE d.event_id = ANY (v_stuck) AND d.status = 'processing' AND d.batch_id IS NULL;
        END IF;

        SELECT array_agg(due.event_id), array_agg(DISTINCT due.ledger_slot) INTO v_due, v_slots
          FROM (SELECT s.event_id, s.ledger_slot FROM platform_event_delivery s
                 WHERE s.status = 'pending' AND s.next_attempt_at <= now()
                 ORDER BY s.next_attempt_at
                 LIMIT p_batch_size
                 FOR UPDATE SKIP LOCKED) due;
        IF v_due IS NULL THEN
            RETURN;
        END IF;
        v_batch := gen_random_uuid();
        WITH claimed AS (
            UPDATE platform_event_delivery d
               SET status = 'processing', claimed_at = now(), batch_id = v_batch
             WHERE d.event_id = ANY (v_due) AND d.ledger_slot = ANY (v_slots)  -- (a constant: pruned)
            RETURNING d.event_id, d.received_at, d.retry_count
        )
        SELECT array_agg(c.event_id), array_agg(c.retry_count), min(c.received_at), max(c.received_at)
          INTO v_ids, v_retries, v_min, v_max
          FROM claimed c;
        INSERT INTO platform_event_delivery_batches
               (batch_id, event_ids, received_lo, received_hi, lease_token, lease_expires_at, holder)
        VALUES (v_batch, v_ids, v_min, v_max, v_token, now() + p_lease, p_holder);
    END IF;

    -- One primary-key probe per member within the batch's time range (0040).
    RETURN QUERY
    SELECT v_batch, v_token, v_attempt, r.event_id, e.event_type, e.event_category,
           e.schema_version, e.user_id, e.session_id, e.occurred_at, e.received_at, e.event_data,
           e.metadata, r.retry_count
      FROM unnest(v_ids, v_retries) AS r(event_id, retry_count)
      LEFT JOIN LATERAL (SELECT * FROM platform_events p
                          WHERE p.event_id = r.event_id
                            AND p.received_at BETWEEN v_min AND v_max) e ON true
     ORDER BY e.received_at, r.event_id;
END;
$$;
REVOKE ALL ON FUNCTION public.claim_delivery_batch(p_batch_size integer, p_lease interval, p_max_retries integer, p_holder text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.claim_delivery_batch(p_batch_size integer, p_lease interval, p_max_retries integer, p_holder text) TO platform_events_pipeline;

-- function cleanup_expired_metrics()
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.cleanup_expired_metrics() RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_metrics_realtime WHERE expires_at <= now();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.cleanup_expired_metrics() FROM PUBLIC;
GRANT ALL ON FUNCTION public.cleanup_expired_metrics() TO platform_events_pipeline;

-- function dead_letter_platform_events(jsonb)
-- created in 0041_ingest_dead_letter
CREATE FUNCTION public.dead_letter_platform_events(p_rows jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) > 50000 THEN
        RAISE EXCEPTION 'dead_letter_platform_events expects a JSON array of at most 50000 rows'
            USING ERRCODE = '22023', COLUMN = 'rows';
    END IF;
    INSERT INTO platform_events_dead_letter (source, route, reason_code, reason_field, reason,
                                             message_id, user_id, anonymous_id, message,
                                             message_bytes, truncated)
    SELECT left(coalesce(r ->> 'source', 'unknown'), 64), left(coalesce(r ->> 'route', 'batch'), 20),
           left(coalesce(r ->> 'code', 'rejected'), 64), left(r ->> 'field', 255),
           left(coalesce(r ->> 'reason', ''), 1000), left(r ->> 'message_id', 255),
           left(r ->> 'user_id', 255), left(r ->> 'anonymous_id', 255),
           left(coalesce(r ->> 'message', ''), 32768),
           greatest(coalesce((r ->> 'message_bytes')::integer, 0), 0),
           coalesce((r ->> 'truncated')::boolean, false)
    FROM jsonb_array_elements(p_rows) AS r;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.dead_letter_platform_events(p_rows jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.dead_letter_platform_events(p_rows jsonb) TO platform_events_ingest;
GRANT ALL ON FUNCTION public.dead_letter_platform_events(p_rows jsonb) TO platform_events_pipeline;

-- function emit_platform_event(text, jsonb, text, text, jsonb, timestamp with time zone, uuid)
-- created in 0003_event_functions
CREATE FUNCTION public.emit_platform_event(p_event_type text, p_event_data jsonb DEFAULT '{}'::jsonb, p_user_id text DEFAULT NULL::text, p_session_id text DEFAULT NULL::text, p_metadata jsonb DEFAULT '{}'::jsonb, p_occurred_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_event_id uuid DEFAULT NULL::uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    RETURN platform_events_store(
        p_event_type, p_event_data,
        platform_events_effective_user(p_user_id, platform_events_caller_is_trusted()),
        p_session_id, p_metadata, p_occurred_at, p_event_id);
END;
$$;
REVOKE ALL ON FUNCTION public.emit_platform_event(p_event_type text, p_event_data jsonb, p_user_id text, p_session_id text, p_metadata jsonb, p_occurred_at timestamp with time zone, p_event_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.emit_platform_event(p_event_type text, p_event_data jsonb, p_user_id text, p_session_id text, p_metadata jsonb, p_occurred_at timestamp with time zone, p_event_id uuid) TO platform_events_app;
GRANT ALL ON FUNCTION public.emit_platform_event(p_event_type text, p_event_data jsonb, p_user_id text, p_session_id text, p_metadata jsonb, p_occurred_at timestamp with time zone, p_event_id uuid) TO platform_events_ingest;

-- function emit_platform_events(jsonb)
-- created in 0003_event_functions; replaced in 0030_set_based_batch_emit, 0046_storable_values_at_emit, 0060_validation_once
CREATE FUNCTION public.emit_platform_events(p_events jsonb) RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text, error_message text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_nestloop TO 'off'
    SET jit TO 'off'
    AS $_$
DECLARE
    v_ids      uuid[];
    v_types    text[];
    v_data     jsonb[];
    v_users    text[];
    v_sessions text[];
    v_meta     jsonb[];
    v_occurred timestamptz[];
    v_codes    text[];
    v_fields   text[];
    v_messages text[];
BEGIN
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
        RAISE EXCEPTION 'emit_platform_events expects a JSON array of events'
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    WITH raw AS (
        SELECT i.n, i.e, jsonb_typeof(i.e) = 'object' AS is_object
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, n)
    ), parsed AS (
        SELECT raw.n, raw.is_object, raw.e,
               CASE WHEN raw.e ->> 'occurred_at' IS NULL THEN now()
                    -- Canonical ISO 8601 casts directly; days 29-31, leap seconds and unusual zones
                    -- take the exact (slower) path.
                    WHEN raw.e ->> 'occurred_at' ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?$'
                         THEN (raw.e ->> 'occurred_at')::timestamptz
                    ELSE platform_events_try_timestamptz(raw.e ->> 'occurred_at') END AS occurred_at,
               CASE WHEN raw.e ->> 'event_id' IS NULL THEN gen_random_uuid()
                    WHEN raw.e ->> 'event_id' ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
                         THEN (raw.e ->> 'event_id')::uuid
                    ELSE platform_events_try_uuid(raw.e ->> 'event_id') END AS event_id
        FROM raw
    ), answered AS (
        SELECT p.n, p.event_id, p.occurred_at, p.e,
               CASE WHEN NOT p.is_object THEN ROW('PE006', 'events[' || p.n || ']', 'each event must be a JSON object', NULL, NULL)::platform_event_check_result
                    WHEN p.event_id IS NULL THEN ROW('PE005', 'event_id', 'event_id must be a UUID', NULL, NULL)::platform_event_check_result
                    WHEN p.occurred_at IS NULL THEN ROW('PE005', 'occurred_at', 'occurred_at must be an ISO 8601 timestamp', NULL, NULL)::platform_event_check_result
               END AS r
        FROM parsed p
    )
    SELECT array_agg(a.event_id ORDER BY a.n), array_agg(a.e ->> 'event_type' ORDER BY a.n),
           array_agg(coalesce(a.e -> 'event_data', '{}'::jsonb) ORDER BY a.n),
           array_agg(a.e ->> 'user_id' ORDER BY a.n), array_agg(a.e ->> 'session_id' ORDER BY a.n),
           array_agg(coalesce(a.e -> 'metadata', '{}'::jsonb) ORDER BY a.n),
           array_agg(a.occurred_at ORDER BY a.n),
           array_agg((a.r).error_code ORDER BY a.n), array_agg((a.r).error_field ORDER BY a.n),
           array_agg((a.r).error_message ORDER BY a.n)
      INTO v_ids, v_types, v_data, v_users, v_sessions, v_meta, v_occurred, v_codes, v_fields, v_messages
      FROM answered a;
    RETURN QUERY
    SELECT * FROM platform_events_emit_rows(v_ids, v_types, v_data, v_users, v_sessions, v_meta,
                                            v_occurred, v_codes, v_fields, v_messages);
END;
$_$;
REVOKE ALL ON FUNCTION public.emit_platform_events(p_events jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.emit_platform_events(p_events jsonb) TO platform_events_app;
GRANT ALL ON FUNCTION public.emit_platform_events(p_events jsonb) TO platform_events_ingest;
GRANT ALL ON FUNCTION public.emit_platform_events(p_events jsonb) TO platform_events_pipeline;

-- function emit_platform_events_columns(uuid[], text[], text[], text[], timestamp with time zone[], jsonb, jsonb)
-- created in 0033_columnar_batch_emit; replaced in 0046_storable_values_at_emit, 0060_validation_once
CREATE FUNCTION public.emit_platform_events_columns(p_event_ids uuid[], p_event_types text[], p_user_ids text[], p_session_ids text[], p_occurred_at timestamp with time zone[], p_event_data jsonb, p_metadata jsonb) RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text, error_message text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_nestloop TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_count integer := coalesce(cardinality(p_event_types), 0);
BEGIN
    IF cardinality(p_event_ids) IS DISTINCT FROM v_count
       OR cardinality(p_user_ids) IS DISTINCT FROM v_count
       OR cardinality(p_session_ids) IS DISTINCT FROM v_count
       OR cardinality(p_occurred_at) IS DISTINCT FROM v_count
       OR jsonb_typeof(p_event_data) IS DISTINCT FROM 'array'
       OR jsonb_typeof(p_metadata) IS DISTINCT FROM 'array'
       OR jsonb_array_length(p_event_data) <> v_count
       OR jsonb_array_length(p_metadata) <> v_count THEN
        RAISE EXCEPTION 'emit_platform_events_columns expects five arrays and two JSON arrays of the same length'
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    RETURN QUERY
    SELECT * FROM platform_events_emit_rows(
        p_event_ids, p_event_types,
        ARRAY(SELECT e.value FROM jsonb_array_elements(p_event_data) WITH ORDINALITY AS e(value, n) ORDER BY e.n),
        p_user_ids, p_session_ids,
        ARRAY(SELECT e.value FROM jsonb_array_elements(p_metadata) WITH ORDINALITY AS e(value, n) ORDER BY e.n),
        p_occurred_at, NULL, NULL, NULL);
END;
$$;
REVOKE ALL ON FUNCTION public.emit_platform_events_columns(p_event_ids uuid[], p_event_types text[], p_user_ids text[], p_session_ids text[], p_occurred_at timestamp with time zone[], p_event_data jsonb, p_metadata jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.emit_platform_events_columns(p_event_ids uuid[], p_event_types text[], p_user_ids text[], p_session_ids text[], p_occurred_at timestamp with time zone[], p_event_data jsonb, p_metadata jsonb) TO platform_events_app;
GRANT ALL ON FUNCTION public.emit_platform_events_columns(p_event_ids uuid[], p_event_types text[], p_user_ids text[], p_session_ids text[], p_occurred_at timestamp with time zone[], p_event_data jsonb, p_metadata jsonb) TO platform_events_ingest;

-- function ensure_platform_event_partitions(integer, integer)
-- created in 0002_partition_maintenance; replaced in 0062_partitions_by_retention; altered in 0006_roles_and_security
CREATE FUNCTION public.ensure_platform_event_partitions(p_months_ahead integer DEFAULT 3, p_months_back integer DEFAULT 1) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_first date := date_trunc('month', now() AT TIME ZONE 'UTC')::date
                    - make_interval(months => p_months_back);
    v_month date;
    v_retention interval;
BEGIN
    IF p_months_ahead < 0 OR p_months_ahead > 120 OR p_months_back < 0 OR p_months_back > 1200 THEN
        RAISE EXCEPTION 'months ahead must be 0..120 and months back 0..1200'
            USING ERRCODE = '22023';
    END IF;
    -- Serialise concurrent maintenance runs; ingest is never blocked by this lock.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_platform_event_partitions'));
    FOR i IN 0 .. p_months_back + p_months_ahead LOOP
        v_month := v_first + make_interval(months => i);
        FOR v_retention IN SELECT DISTINCT s.retention FROM event_schemas s ORDER BY 1 LOOP
            RETURN QUERY SELECT * FROM platform_events_ensure_leaf(v_month, v_retention);
        END LOOP;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION public.ensure_platform_event_partitions(p_months_ahead integer, p_months_back integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.ensure_platform_event_partitions(p_months_ahead integer, p_months_back integer) TO platform_events_pipeline;

-- function get_pending_events(integer, interval, integer)
-- created in 0003_event_functions; replaced in 0040_custom_claim_plans, 0050_durable_delivery_batches
CREATE FUNCTION public.get_pending_events(p_batch_size integer DEFAULT 100, p_visibility_timeout interval DEFAULT '00:05:00'::interval, p_max_retries integer DEFAULT 3) RETURNS TABLE(event_id uuid, event_type text, event_category text, schema_version integer, user_id text, session_id text, occurred_at timestamp with time zone, received_at timestamp with time zone, event_data jsonb, metadata jsonb, retry_count integer)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_stuck   uuid[];
    v_due     uuid[];
    v_ids     uuid[];
    v_retries integer[];
    v_min     timestamptz;
    v_max     timestamptz;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 OR p_batch_size > 50000 THEN
        RAISE EXCEPTION 'batch size must be between 1 and 50000, got %', p_batch_size
            USING ERRCODE = '22023', COLUMN = 'batch_size';
    END IF;
    IF p_visibility_timeout IS NULL OR p_visibility_timeout <= interval '0' THEN
        RAISE EXCEPTION 'visibility timeout must be positive' USING ERRCODE = '22023',
            COLUMN = 'visibility_timeout';
    END IF;

    SELECT array_agg(s.event_id) INTO v_stuck
      FROM (SELECT s.event_id FROM platform_event_delivery s
             WHERE s.claimed_at < now() - p_visibility_timeout AND s.batch_id IS NULL
             FOR UPDATE SKIP LOCKED) s;
    IF v_stuck IS NOT NULL THEN
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now(),
               last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                                   p_visibility_timeout),
               claimed_at = NULL
         WHERE d.event_id = ANY (v_stuck) AND d.status = 'processing' AND d.batch_id IS NULL;
    END IF;

    SELECT array_agg(due.event_id) INTO v_due
      FROM (SELECT s.event_id FROM platform_event_delivery s
             WHERE s.status = 'pending' AND s.next_attempt_at <= now()
             ORDER BY s.next_attempt_at
             LIMIT p_batch_size
             FOR UPDATE SKIP LOCKED) due;
    IF v_due IS NULL THEN
        RETURN;
    END IF;

    WITH claimed AS (
        UPDATE platform_event_delivery d
           SET status = 'processing', claimed_at = now()
         WHERE d.event_id = ANY (v_due)
        RETURNING d.event_id, d.received_at, d.retry_count
    )
    SELECT array_agg(c.event_id), array_agg(c.retry_count), min(c.received_at), max(c.received_at)
      INTO v_ids, v_retries, v_min, v_max
      FROM claimed c;

    RETURN QUERY
    SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
           e.occurred_at, e.received_at, e.event_data, e.metadata, r.retry_count
      FROM unnest(v_ids, v_retries) AS r(event_id, retry_count)
      JOIN LATERAL (SELECT * FROM platform_events p
                     WHERE p.event_id = r.event_id AND p.received_at BETWEEN v_min AND v_max) e ON true
     ORDER BY e.received_at, e.event_id;
END;
$$;
REVOKE ALL ON FUNCTION public.get_pending_events(p_batch_size integer, p_visibility_timeout interval, p_max_retries integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.get_pending_events(p_batch_size integer, p_visibility_timeout interval, p_max_retries integer) TO platform_events_pipeline;

-- function install_user_erasure_trigger(regclass, text)
-- created in 0022_user_erasure
CREATE FUNCTION public.install_user_erasure_trigger(p_table regclass, p_id_column text DEFAULT 'id'::text) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = p_table AND a.attname = p_id_column
                      AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % has no column %', p_table, quote_nullable(p_id_column)
            USING ERRCODE = '22023', COLUMN = 'id_column';
    END IF;
    EXECUTE format(
        'CREATE OR REPLACE TRIGGER platform_events_user_erasure AFTER DELETE ON %s '
        'REFERENCING OLD TABLE AS platform_events_deleted_users '
        'FOR EACH STATEMENT EXECUTE FUNCTION platform_events_queue_user_erasure(%L)',
        p_table, p_id_column);
    RETURN format('deleting from %s now queues the erasure of %s', p_table, p_id_column);
END;
$$;
REVOKE ALL ON FUNCTION public.install_user_erasure_trigger(p_table regclass, p_id_column text) FROM PUBLIC;

-- function mark_event_processed(uuid[], boolean, text, integer, interval)
-- created in 0003_event_functions; replaced in 0050_durable_delivery_batches
CREATE FUNCTION public.mark_event_processed(p_event_ids uuid[], p_success boolean, p_error text DEFAULT NULL::text, p_max_retries integer DEFAULT 3, p_backoff interval DEFAULT '00:00:30'::interval) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_success IS NULL THEN
        RAISE EXCEPTION 'success must be true or false' USING ERRCODE = '22023', COLUMN = 'success';
    END IF;
    IF p_success THEN
        UPDATE platform_event_delivery d
           SET status = 'delivered', processed_at = now(), last_error = NULL, claimed_at = NULL
         WHERE d.event_id = ANY (p_event_ids) AND d.status <> 'delivered' AND d.batch_id IS NULL;
    ELSE
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now() + platform_events_backoff(d.retry_count + 1, p_backoff),
               last_error = left(coalesce(p_error, 'unknown error'), 2000),
               claimed_at = NULL
         WHERE d.event_id = ANY (p_event_ids) AND d.status = 'processing' AND d.batch_id IS NULL;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.mark_event_processed(p_event_ids uuid[], p_success boolean, p_error text, p_max_retries integer, p_backoff interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.mark_event_processed(p_event_ids uuid[], p_success boolean, p_error text, p_max_retries integer, p_backoff interval) TO platform_events_pipeline;

-- function mark_event_processed(uuid, boolean, text, integer, interval)
-- created in 0003_event_functions; replaced in 0050_durable_delivery_batches
CREATE FUNCTION public.mark_event_processed(p_event_id uuid, p_success boolean, p_error text DEFAULT NULL::text, p_max_retries integer DEFAULT 3, p_backoff interval DEFAULT '00:00:30'::interval) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    PERFORM mark_event_processed(ARRAY[p_event_id], p_success, p_error, p_max_retries, p_backoff);
    RETURN (SELECT d.status FROM platform_event_delivery d WHERE d.event_id = p_event_id);
END;
$$;
REVOKE ALL ON FUNCTION public.mark_event_processed(p_event_id uuid, p_success boolean, p_error text, p_max_retries integer, p_backoff interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.mark_event_processed(p_event_id uuid, p_success boolean, p_error text, p_max_retries integer, p_backoff interval) TO platform_events_pipeline;

-- function platform_event_check(text, jsonb, jsonb, timestamp with time zone, text, text)
-- created in 0003_event_functions; replaced in 0046_storable_values_at_emit, 0060_validation_once, 0061_tracking_plan
CREATE FUNCTION public.platform_event_check(p_event_type text, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamp with time zone, p_user_id text, p_session_id text) RETURNS public.platform_event_check_result
    LANGUAGE plpgsql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_category text;
    v_active   boolean;
    v_current  integer;
    v_version  integer;
    r          platform_event_check_result;
    v_rule     platform_event_check_result;
    v_first    platform_event_check_result;
BEGIN
    SELECT s.category, s.is_active, s.version INTO v_category, v_active, v_current
      FROM event_schemas s
     WHERE s.event_type = p_event_type
     ORDER BY s.is_active DESC, s.version DESC
     LIMIT 1;
    r := platform_events_row_error(p_event_type, v_category, v_active, v_current, p_event_data,
                                   p_metadata, p_occurred_at, p_user_id, p_session_id);
    IF r.error_code IS NOT NULL THEN
        RETURN r;
    END IF;
    FOR v_version IN
        SELECT s.version FROM event_schemas s
         WHERE s.event_type = p_event_type AND s.is_active
         ORDER BY s.version DESC
    LOOP
        SELECT (platform_events_rule_error(b.kind, p_event_type, b.key, b.t, b.want_type, b.enum_values,
                                           b.minimum, b.maximum, b.max_length)).*
          INTO v_rule
          FROM (SELECT x.*, platform_events_rule_broken(x.v, x.t, x.required_at IS NOT NULL, x.want_type,
                                                        x.enum_values, x.minimum, x.maximum,
                                                        x.max_length) AS kind
                  FROM (SELECT ru.*, p_event_data -> ru.key AS v, jsonb_typeof(p_event_data -> ru.key) AS t
                          FROM platform_event_rules ru
                         WHERE ru.event_type = p_event_type AND ru.version = v_version
                        OFFSET 0) AS x
                OFFSET 0) AS b
         WHERE b.kind IS NOT NULL
         ORDER BY platform_events_rule_order(b.kind, b.required_at, b.property_at)
         LIMIT 1;
        IF NOT FOUND THEN
            r.schema_version := v_version;
            RETURN r;
        END IF;
        IF v_version = v_current THEN
            v_first := v_rule;
        END IF;
    END LOOP;
    RETURN v_first;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_event_check(p_event_type text, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamp with time zone, p_user_id text, p_session_id text) FROM PUBLIC;

-- function platform_event_schema_rules(jsonb)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_event_schema_rules(p_json_schema jsonb) RETURNS TABLE(key text, required_at bigint, property_at bigint, want_type text, enum_values jsonb, minimum numeric, maximum numeric, max_length integer)
    LANGUAGE sql STABLE
    BEGIN ATOMIC
 SELECT k.key,
     k.required_at,
     k.property_at,
     (pr.prop ->> 'type'::text),
     (pr.prop -> 'enum'::text),
     ((pr.prop ->> 'minimum'::text))::numeric AS "numeric",
     ((pr.prop ->> 'maximum'::text))::numeric AS "numeric",
     ((pr.prop ->> 'maxLength'::text))::integer AS int4
    FROM (( SELECT u.key,
             min(u.required_at) AS required_at,
             min(u.property_at) AS property_at
            FROM ( SELECT r.key,
                     r.n AS required_at,
                     NULL::bigint AS property_at
                    FROM jsonb_array_elements_text(COALESCE((platform_event_schema_rules.p_json_schema -> 'required'::text), '[]'::jsonb)) WITH ORDINALITY r(key, n)
                 UNION ALL
                  SELECT p.key,
                     NULL::bigint AS int8,
                     p.n
                    FROM jsonb_object_keys(COALESCE((platform_event_schema_rules.p_json_schema -> 'properties'::text), '{}'::jsonb)) WITH ORDINALITY p(key, n)) u
           GROUP BY u.key) k
      CROSS JOIN LATERAL ( SELECT COALESCE(((platform_event_schema_rules.p_json_schema -> 'properties'::text) -> k.key), '{}'::jsonb) AS prop) pr);
END;
REVOKE ALL ON FUNCTION public.platform_event_schema_rules(p_json_schema jsonb) FROM PUBLIC;

-- function platform_events_backoff(integer, interval)
-- created in 0003_event_functions
CREATE FUNCTION public.platform_events_backoff(p_attempts integer, p_base interval) RETURNS interval
    LANGUAGE sql
    AS $$
    SELECT least(p_base * power(2, greatest(p_attempts - 1, 0))::double precision, interval '1 hour')
           * (0.5 + random() / 2);
$$;
REVOKE ALL ON FUNCTION public.platform_events_backoff(p_attempts integer, p_base interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_backoff(p_attempts integer, p_base interval) TO platform_events_pipeline;

-- function platform_events_caller_is_trusted()
-- created in 0003_event_functions
CREATE FUNCTION public.platform_events_caller_is_trusted() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH caller AS (
        SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text
                    ELSE current_setting('role') END AS name
    )
    SELECT pg_has_role(caller.name, 'platform_events_ingest', 'USAGE')
        OR pg_has_role(caller.name, 'platform_events_pipeline', 'USAGE')
        OR pg_has_role(caller.name, (SELECT tableowner FROM pg_tables
                                      WHERE schemaname = 'public' AND tablename = 'platform_events'), 'USAGE')
    FROM caller;
$$;
REVOKE ALL ON FUNCTION public.platform_events_caller_is_trusted() FROM PUBLIC;

-- function platform_events_forged_user(text, boolean, text)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_forged_user(p_user_id text, p_trusted boolean, p_session_user text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    RETURN ((NOT p_trusted) AND (p_user_id IS NOT NULL) AND (p_user_id IS DISTINCT FROM p_session_user));
REVOKE ALL ON FUNCTION public.platform_events_forged_user(p_user_id text, p_trusted boolean, p_session_user text) FROM PUBLIC;

-- function platform_events_json_problem(jsonb)
-- created in 0046_storable_values_at_emit
CREATE FUNCTION public.platform_events_json_problem(p_value jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN jsonb_path_exists(p_value, 'strict $.**{500 to last}'::jsonpath) THEN 'nests a value 500 levels deep (BigQuery''s JSON nesting limit is 500)'::text WHEN jsonb_path_exists(p_value, 'strict $.**?(@ > 179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000 || @ < -179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000)'::jsonpath) THEN 'holds a number beyond the double-precision range (+-1.7976931348623157e308) warehouses read JSON numbers in'::text ELSE NULL::text END;
REVOKE ALL ON FUNCTION public.platform_events_json_problem(p_value jsonb) FROM PUBLIC;

-- function platform_events_limits()
-- created in 0060_validation_once; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_limits() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '{"id_chars": 255, "batch_events": 50000, "future_seconds": 86400, "metadata_bytes": 16384, "event_data_bytes": 32768, "dedupe_window_days": 7}'::jsonb;
COMMENT ON FUNCTION public.platform_events_limits() IS 'The limits every emit path enforces; functions/platform_events/limits.json is its copy for Python (make schema).';
REVOKE ALL ON FUNCTION public.platform_events_limits() FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_limits() TO platform_events_pipeline;

-- function platform_events_limit(text)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_limit(p_name text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((public.platform_events_limits() ->> p_name))::integer;
REVOKE ALL ON FUNCTION public.platform_events_limit(p_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_limit(p_name text) TO platform_events_pipeline;

-- function platform_events_storable_timestamp(timestamp with time zone)
-- created in 0046_storable_values_at_emit
CREATE FUNCTION public.platform_events_storable_timestamp(p_ts timestamp with time zone) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((p_ts >= '0001-01-01 00:00:00+00'::timestamp with time zone) AND (p_ts <= '9999-12-31 23:59:59.999999+00'::timestamp with time zone));
REVOKE ALL ON FUNCTION public.platform_events_storable_timestamp(p_ts timestamp with time zone) FROM PUBLIC;

-- function platform_events_row_error(text, text, boolean, integer, jsonb, jsonb, timestamp with time zone, text, text)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_row_error(p_event_type text, p_category text, p_is_active boolean, p_version integer, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamp with time zone, p_user_id text, p_session_id text) RETURNS public.platform_event_check_result
    LANGUAGE sql STABLE
    RETURN CASE WHEN ((p_event_type IS NULL) OR (p_event_type = ''::text)) THEN ROW('PE001'::text, 'event_type'::text, 'event_type is required'::text, NULL::text, NULL::integer)::public.platform_event_check_result WHEN (p_category IS NULL) THEN ROW('PE001'::text, 'event_type'::text, format('unknown event type %L: it is not in event_schemas'::text, "left"(p_event_type, 100)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN (NOT p_is_active) THEN ROW('PE002'::text, 'event_type'::text, format('event type %L is no longer active'::text, p_event_type), NULL::text, NULL::integer)::public.platform_event_check_result WHEN ((p_event_data IS NULL) OR (jsonb_typeof(p_event_data) <> 'object'::text)) THEN ROW('PE006'::text, 'event_data'::text, 'event_data must be a JSON object'::text, NULL::text, NULL::integer)::public.platform_event_check_result WHEN (octet_length((p_event_data)::text) > public.platform_events_limit('event_data_bytes'::text)) THEN ROW('PE004'::text, 'event_data'::text, format('event_data is %s bytes, over the %s-byte limit'::text, octet_length((p_event_data)::text), public.platform_events_limit('event_data_bytes'::text)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN ((p_metadata IS NOT NULL) AND (jsonb_typeof(p_metadata) <> 'object'::text)) THEN ROW('PE006'::text, 'metadata'::text, 'metadata must be a JSON object'::text, NULL::text, NULL::integer)::public.platform_event_check_result WHEN (octet_length((COALESCE(p_metadata, '{}'::jsonb))::text) > public.platform_events_limit('metadata_bytes'::text)) THEN ROW('PE004'::text, 'metadata'::text, format('metadata is over the %s-byte limit'::text, public.platform_events_limit('metadata_bytes'::text)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN (NOT public.platform_events_storable_timestamp(p_occurred_at)) THEN ROW('PE007'::text, 'occurred_at'::text, 'occurred_at must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the range every warehouse stores'::text, NULL::text, NULL::integer)::public.platform_event_check_result WHEN (p_occurred_at > (now() + make_interval(secs => (public.platform_events_limit('future_seconds'::text))::double precision))) THEN ROW('PE007'::text, 'occurred_at'::text, 'occurred_at is more than a day in the future'::text, NULL::text, NULL::integer)::public.platform_event_check_result WHEN (public.platform_events_json_problem(p_event_data) IS NOT NULL) THEN ROW('PE005'::text, 'event_data'::text, ('event_data '::text || public.platform_events_json_problem(p_event_data)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN (public.platform_events_json_problem(p_metadata) IS NOT NULL) THEN ROW('PE005'::text, 'metadata'::text, ('metadata '::text || public.platform_events_json_problem(p_metadata)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN (length(p_user_id) > public.platform_events_limit('id_chars'::text)) THEN ROW('PE009'::text, 'user_id'::text, format('user_id is longer than %s characters'::text, public.platform_events_limit('id_chars'::text)), NULL::text, NULL::integer)::public.platform_event_check_result WHEN (length(p_session_id) > public.platform_events_limit('id_chars'::text)) THEN ROW('PE009'::text, 'session_id'::text, format('session_id is longer than %s characters'::text, public.platform_events_limit('id_chars'::text)), NULL::text, NULL::integer)::public.platform_event_check_result ELSE ROW(NULL::text, NULL::text, NULL::text, p_category, p_version)::public.platform_event_check_result END;
REVOKE ALL ON FUNCTION public.platform_events_row_error(p_event_type text, p_category text, p_is_active boolean, p_version integer, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamp with time zone, p_user_id text, p_session_id text) FROM PUBLIC;

-- function platform_events_rule_broken(jsonb, text, boolean, text, jsonb, numeric, numeric, integer)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_rule_broken(p_value jsonb, p_type text, p_required boolean, p_want_type text, p_enum jsonb, p_minimum numeric, p_maximum numeric, p_max_length integer) RETURNS text
    LANGUAGE sql STABLE
    RETURN CASE WHEN ((p_type IS NULL) OR (p_type = 'null'::text)) THEN CASE WHEN p_required THEN 'required'::text ELSE NULL::text END WHEN ((p_want_type IS NOT NULL) AND (p_want_type <> p_type) AND (NOT ((p_want_type = 'integer'::text) AND (p_type = 'number'::text) AND (((p_value)::numeric % (1)::numeric) = (0)::numeric)))) THEN 'type'::text WHEN ((p_enum IS NOT NULL) AND (NOT (p_enum @> jsonb_build_array(p_value)))) THEN 'enum'::text WHEN ((p_type = 'number'::text) AND (((p_value)::numeric < p_minimum) OR ((p_value)::numeric > p_maximum))) THEN 'range'::text WHEN ((p_type = 'string'::text) AND (length((p_value #>> '{}'::text[])) > p_max_length)) THEN 'length'::text ELSE NULL::text END;
REVOKE ALL ON FUNCTION public.platform_events_rule_broken(p_value jsonb, p_type text, p_required boolean, p_want_type text, p_enum jsonb, p_minimum numeric, p_maximum numeric, p_max_length integer) FROM PUBLIC;

-- function platform_events_rule_error(text, text, text, text, text, jsonb, numeric, numeric, integer)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_rule_error(p_broken text, p_event_type text, p_key text, p_type text, p_want_type text, p_enum jsonb, p_minimum numeric, p_maximum numeric, p_max_length integer) RETURNS public.platform_event_check_result
    LANGUAGE sql STABLE
    RETURN ROW(CASE p_broken WHEN 'required'::text THEN 'PE003'::text ELSE 'PE005'::text END, ('event_data.'::text || p_key), CASE p_broken WHEN 'required'::text THEN format('%s requires event_data.%s'::text, p_event_type, p_key) WHEN 'type'::text THEN format('event_data.%s must be of type %s, got %s'::text, p_key, p_want_type, p_type) WHEN 'enum'::text THEN format('event_data.%s must be one of %s'::text, p_key, p_enum) WHEN 'range'::text THEN format('event_data.%s must be between %s and %s'::text, p_key, COALESCE((p_minimum)::text, '-inf'::text), COALESCE((p_maximum)::text, 'inf'::text)) WHEN 'length'::text THEN format('event_data.%s is longer than %s characters'::text, p_key, p_max_length) ELSE NULL::text END, NULL::text, NULL::integer)::public.platform_event_check_result;
REVOKE ALL ON FUNCTION public.platform_events_rule_error(p_broken text, p_event_type text, p_key text, p_type text, p_want_type text, p_enum jsonb, p_minimum numeric, p_maximum numeric, p_max_length integer) FROM PUBLIC;

-- function platform_events_rule_order(text, bigint, bigint)
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_rule_order(p_broken text, p_required_at bigint, p_property_at bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN (p_broken = 'required'::text) THEN p_required_at ELSE (1000000000 + p_property_at) END;
REVOKE ALL ON FUNCTION public.platform_events_rule_order(p_broken text, p_required_at bigint, p_property_at bigint) FROM PUBLIC;

-- ================================================================================================
-- Tables, views and sequences
-- ================================================================================================

-- table event_schemas
-- created in 0001_event_store; altered in 0061_tracking_plan
CREATE TABLE public.event_schemas (
    event_type text NOT NULL,
    version integer NOT NULL,
    category text NOT NULL,
    json_schema jsonb NOT NULL,
    retention interval NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    owner text,
    revision integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT event_schemas_category_check CHECK ((category = ANY (ARRAY['transaction'::text, 'interaction'::text, 'user_activity'::text, 'content'::text]))),
    CONSTRAINT event_schemas_event_type_check CHECK ((event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'::text)),
    CONSTRAINT event_schemas_json_schema_check CHECK ((jsonb_typeof(json_schema) = 'object'::text)),
    CONSTRAINT event_schemas_retention_check CHECK ((retention > '00:00:00'::interval)),
    CONSTRAINT event_schemas_revision_check CHECK ((revision >= 0)),
    CONSTRAINT event_schemas_version_check CHECK ((version > 0))
);
COMMENT ON TABLE public.event_schemas IS 'The event catalogue, written by `platform-events catalog apply` from the tracking plan''s files: one row per type and version.';
COMMENT ON COLUMN public.event_schemas.owner IS 'The team that owns the type (its file''s x-owner).';
COMMENT ON COLUMN public.event_schemas.revision IS 'Compatible edits applied to this version (SchemaVer REVISION-ADDITION): every event valid under an earlier revision is valid under this one.';
GRANT SELECT ON TABLE public.event_schemas TO platform_events_app;
GRANT SELECT ON TABLE public.event_schemas TO platform_events_ingest;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.event_schemas TO platform_events_pipeline;
GRANT SELECT ON TABLE public.event_schemas TO platform_events_analyst;

-- table platform_event_rules
-- created in 0060_validation_once
CREATE TABLE public.platform_event_rules (
    event_type text NOT NULL,
    version integer NOT NULL,
    key text NOT NULL,
    required_at bigint,
    property_at bigint,
    want_type text,
    enum_values jsonb,
    minimum numeric,
    maximum numeric,
    max_length integer
);
COMMENT ON TABLE public.platform_event_rules IS 'The rules of each event_schemas row, typed (derived: a trigger on event_schemas keeps it).';

-- ================================================================================================
-- Functions
-- ================================================================================================

-- function platform_events_check_rows(text[], jsonb[], jsonb[], timestamp with time zone[], text[], text[], boolean, text)
-- created in 0060_validation_once; replaced in 0061_tracking_plan
CREATE FUNCTION public.platform_events_check_rows(p_event_types text[], p_event_data jsonb[], p_metadata jsonb[], p_occurred_at timestamp with time zone[], p_user_ids text[], p_session_ids text[], p_trusted boolean, p_session_user text) RETURNS TABLE(n integer, error_code text, error_field text, error_message text, category text, schema_version integer)
    LANGUAGE sql STABLE
    BEGIN ATOMIC
 WITH events AS MATERIALIZED (
          SELECT (u.n)::integer AS n,
             u.event_type,
             u.event_data,
             u.metadata,
             u.occurred_at,
             u.user_id,
             u.session_id
            FROM UNNEST(platform_events_check_rows.p_event_types, platform_events_check_rows.p_event_data, platform_events_check_rows.p_metadata, platform_events_check_rows.p_occurred_at, platform_events_check_rows.p_user_ids, platform_events_check_rows.p_session_ids) WITH ORDINALITY u(event_type, event_data, metadata, occurred_at, user_id, session_id, n)
         ), versions AS MATERIALIZED (
          SELECT v.event_type,
             v.version,
             v.category,
             v.is_active,
             (v.version = COALESCE(v.newest_active, v.newest)) AS is_current
            FROM ( SELECT s.event_type,
                     s.version,
                     s.category,
                     s.is_active,
                     max(s.version) FILTER (WHERE s.is_active) OVER w AS newest_active,
                     max(s.version) OVER w AS newest
                    FROM public.event_schemas s
                   WHERE (s.event_type IN ( SELECT DISTINCT e.event_type
                            FROM events e))
                   WINDOW w AS (PARTITION BY s.event_type)) v
           WHERE (v.is_active OR (v.version = COALESCE(v.newest_active, v.newest)))
         ), rules AS MATERIALIZED (
          SELECT r.event_type,
             r.version,
             r.key,
             r.required_at,
             r.property_at,
             r.want_type,
             r.enum_values,
             r.minimum,
             r.maximum,
             r.max_length,
             vs.is_current
            FROM (versions vs
              JOIN public.platform_event_rules r ON (((r.event_type = vs.event_type) AND (r.version = vs.version))))
           WHERE vs.is_active
         ), own AS MATERIALIZED (
          SELECT e.n,
             e.event_type,
             e.event_data,
                 CASE
                     WHEN public.platform_events_forged_user(e.user_id, platform_events_check_rows.p_trusted, platform_events_check_rows.p_session_user) THEN ROW('42501'::text, 'user_id'::text, 'user_id does not match the session user (platform_events.user_id)'::text, NULL::text, NULL::integer)::public.platform_event_check_result
                     ELSE public.platform_events_row_error(e.event_type, vs.category, vs.is_active, vs.version, e.event_data, e.metadata, e.occurred_at, e.user_id, e.session_id)
                 END AS c
            FROM (events e
              LEFT JOIN versions vs ON (((vs.event_type = e.event_type) AND vs.is_current)))
         ), values_of AS (
          SELECT o_1.n,
             o_1.event_type,
             r.version,
             r.is_current,
             r.key,
             r.required_at,
             r.property_at,
             r.want_type,
             r.enum_values,
             r.minimum,
             r.maximum,
             r.max_length,
             (o_1.event_data -> r.key) AS v,
             jsonb_typeof((o_1.event_data -> r.key)) AS t
            FROM (own o_1
              JOIN rules r ON ((r.event_type = o_1.event_type)))
           WHERE ((o_1.c).error_code IS NULL)
          OFFSET 0
         ), broken AS (
          SELECT x.n,
             x.event_type,
             x.version,
             x.is_current,
             x.key,
             x.required_at,
             x.property_at,
             x.want_type,
             x.enum_values,
             x.minimum,
             x.maximum,
             x.max_length,
             x.v,
             x.t,
             public.platform_events_rule_broken(x.v, x.t, (x.required_at IS NOT NULL), x.want_type, x.enum_values, x.minimum, x.maximum, x.max_length) AS kind
            FROM values_of x
          OFFSET 0
         ), accepted AS (
          SELECT o_1.n,
             max(vs.version) AS version
            FROM (own o_1
              JOIN versions vs ON (((vs.event_type = o_1.event_type) AND vs.is_active)))
           WHERE (((o_1.c).error_code IS NULL) AND (NOT (EXISTS ( SELECT 1
                    FROM broken b
                   WHERE ((b.n = o_1.n) AND (b.version = vs.version) AND (b.kind IS NOT NULL))))))
           GROUP BY o_1.n
         ), first_broken AS (
          SELECT DISTINCT ON (b.n) b.n,
             public.platform_events_rule_error(b.kind, b.event_type, b.key, b.t, b.want_type, b.enum_values, b.minimum, b.maximum, b.max_length) AS c
            FROM broken b
           WHERE ((b.kind IS NOT NULL) AND b.is_current AND (NOT (EXISTS ( SELECT 1
                    FROM accepted a_1
                   WHERE (a_1.n = b.n)))))
           ORDER BY b.n, (public.platform_events_rule_order(b.kind, b.required_at, b.property_at))
         )
  SELECT o.n,
     COALESCE((fb.c).error_code, (o.c).error_code) AS "coalesce",
     COALESCE((fb.c).error_field, (o.c).error_field) AS "coalesce",
     COALESCE((fb.c).error_message, (o.c).error_message) AS "coalesce",
         CASE
             WHEN (fb.n IS NULL) THEN (o.c).category
             ELSE NULL::text
         END AS "case",
         CASE
             WHEN (fb.n IS NULL) THEN COALESCE(a.version, (o.c).schema_version)
             ELSE NULL::integer
         END AS "case"
    FROM ((own o
      LEFT JOIN accepted a ON ((a.n = o.n)))
      LEFT JOIN first_broken fb ON ((fb.n = o.n)))
   ORDER BY o.n;
END;
REVOKE ALL ON FUNCTION public.platform_events_check_rows(p_event_types text[], p_event_data jsonb[], p_metadata jsonb[], p_occurred_at timestamp with time zone[], p_user_ids text[], p_session_ids text[], p_trusted boolean, p_session_user text) FROM PUBLIC;

-- function platform_events_create_leaves(text, date, interval[])
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_create_leaves(p_month_name text, p_month date, p_retentions interval[]) RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_retention interval;
    v_leaf      text;
BEGIN
    FOREACH v_retention IN ARRAY p_retentions LOOP
        v_leaf := format('platform_events_%s_r%s', to_char(p_month, 'YYYY_MM'),
                         platform_events_retention_label(v_retention));
        -- A leaf of an equal interval spelled otherwise ('12 mons') has the same label.
        CONTINUE WHEN to_regclass(v_leaf) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', v_leaf, p_month_name,
                       v_retention::text);
        RETURN NEXT v_leaf;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_create_leaves(p_month_name text, p_month date, p_retentions interval[]) FROM PUBLIC;

-- function platform_events_detach_partition(text, interval, integer)
-- created in 0021_partition_retirement; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_detach_partition(p_partition text, p_lock_timeout interval DEFAULT '00:00:00.05'::interval, p_attempts integer DEFAULT 20) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
DECLARE
    v_part    record;
    v_retired text;
    v_outcome text;
    v_old     text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '5 seconds' THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 5 s' USING ERRCODE = '22023',
            COLUMN = 'lock_timeout';
    END IF;
    IF p_attempts IS NULL OR p_attempts < 1 OR p_attempts > 1000 THEN
        RAISE EXCEPTION 'attempts must be between 1 and 1000' USING ERRCODE = '22023',
            COLUMN = 'attempts';
    END IF;
    SELECT * INTO v_part FROM platform_event_partitions p WHERE p.partition_name = p_partition;
    IF NOT FOUND OR p_partition !~ '^platform_events_[0-9]{4}_[0-9]{2}_r[0-9]+[ymds]$' THEN
        RAISE EXCEPTION '% is not a leaf partition of platform_events', quote_nullable(p_partition)
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    -- Reprocessing takes this lock shared before it puts delivered events back to pending, so the
    -- check below stays true until the detach commits.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_partition_retirement'));
    v_outcome := platform_events_leaf_expiry(p_partition, true);
    IF v_outcome <> 'expired' THEN
        RETURN v_outcome;
    END IF;
    v_retired := 'platform_events_retired_' || substr(p_partition, length('platform_events_') + 1);
    PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
    FOR i IN 1 .. p_attempts LOOP
        BEGIN
            -- The parent is a month long past: no INSERT waits for this lock, only readers of it.
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_part.month_name, p_partition);
            EXECUTE format('ALTER TABLE %I RENAME TO %I', p_partition, v_retired);
            PERFORM set_config('lock_timeout', v_old, true);
            RETURN 'detached';
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(least(1.0, 0.02 * i) * (0.5 + random() / 2));
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
    RETURN 'busy';
END;
$_$;
REVOKE ALL ON FUNCTION public.platform_events_detach_partition(p_partition text, p_lock_timeout interval, p_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_detach_partition(p_partition text, p_lock_timeout interval, p_attempts integer) TO platform_events_pipeline;

-- function platform_events_drop_empty_months(interval)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_drop_empty_months(p_lock_timeout interval DEFAULT '00:00:00.005'::interval) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_month record;
    v_old   text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '1 second' THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 1 s' USING ERRCODE = '22023',
            COLUMN = 'lock_timeout';
    END IF;
    FOR v_month IN
        SELECT m.partition_name FROM platform_event_months m
         WHERE m.by_retention AND m.range_end < now() - interval '1 month'
           AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = m.partition_name::regclass)
         ORDER BY m.range_start
    LOOP
        PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
        BEGIN
            EXECUTE format('DROP TABLE %I', v_month.partition_name);
            RETURN NEXT v_month.partition_name;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- busy: the next run drops it
        END;
        PERFORM set_config('lock_timeout', v_old, true);
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_drop_empty_months(p_lock_timeout interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_drop_empty_months(p_lock_timeout interval) TO platform_events_pipeline;

-- function platform_events_drop_retired_partition(text)
-- created in 0021_partition_retirement
CREATE FUNCTION public.platform_events_drop_retired_partition(p_table text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM platform_events_retired_partitions r WHERE r.table_name = p_table) THEN
        RAISE EXCEPTION '% is not a retired platform_events partition', quote_nullable(p_table)
            USING ERRCODE = '22023', COLUMN = 'table';
    END IF;
    EXECUTE format('DROP TABLE %I', p_table);
    RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_drop_retired_partition(p_table text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_drop_retired_partition(p_table text) TO platform_events_pipeline;

-- function platform_events_effective_user(text, boolean)
-- created in 0003_event_functions; replaced in 0047_errors_without_values, 0060_validation_once
CREATE FUNCTION public.platform_events_effective_user(p_user_id text, p_trusted boolean) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
BEGIN
    IF platform_events_forged_user(p_user_id, p_trusted, v_session_user) THEN
        RAISE EXCEPTION 'user_id does not match the session user (platform_events.user_id)'
            USING ERRCODE = '42501', COLUMN = 'user_id';
    END IF;
    RETURN CASE WHEN p_trusted THEN p_user_id ELSE v_session_user END;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_effective_user(p_user_id text, p_trusted boolean) FROM PUBLIC;

-- function platform_events_emit_rows(uuid[], text[], jsonb[], text[], text[], jsonb[], timestamp with time zone[], text[], text[], text[])
-- created in 0060_validation_once; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_emit_rows(p_event_ids uuid[], p_event_types text[], p_event_data jsonb[], p_user_ids text[], p_session_ids text[], p_metadata jsonb[], p_occurred_at timestamp with time zone[], p_reject_codes text[], p_reject_fields text[], p_reject_messages text[]) RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text, error_message text)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_trusted      boolean := platform_events_caller_is_trusted();
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
    v_count        integer := coalesce(cardinality(p_event_types), 0);
    v_slot         smallint := platform_events_ledger_slot(now());
    v_prev_slot    smallint := platform_events_ledger_slot(
                                   now() - make_interval(days => platform_events_limit('dedupe_window_days')));
    v_window_start timestamptz := now() - make_interval(days => platform_events_limit('dedupe_window_days'));
    v_future       interval := make_interval(secs => platform_events_limit('future_seconds'));
    v_stored_before uuid[] := ARRAY[]::uuid[];  -- stored before the window: duplicates
    v_ids          uuid[];
    v_occurred     timestamptz[];
    v_codes        text[];
    v_fields       text[];
    v_messages     text[];
    v_categories   text[];
    v_versions     integer[];
    v_accepted     integer[];  -- ordinals of the events this call stored
BEGIN
    IF v_count > platform_events_limit('batch_events') THEN
        RAISE EXCEPTION 'a batch holds at most % events, got %', platform_events_limit('batch_events'), v_count
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    IF v_count = 0 THEN
        RETURN;
    END IF;
    -- A plain array argument (not a subquery) keeps platform_events_check_rows inlinable.
    v_occurred := ARRAY(SELECT coalesce(o.at, now())
                          FROM unnest(p_occurred_at) WITH ORDINALITY AS o(at, n) ORDER BY o.n);

    -- 1. Validate (no writes). An event without an id gets one; one refused for its id keeps none.
    SELECT array_agg(CASE WHEN u.reject_code IS NULL THEN coalesce(u.event_id, gen_random_uuid())
                     END ORDER BY c.n),
           array_agg(coalesce(u.reject_code, c.error_code) ORDER BY c.n),
           array_agg(CASE WHEN u.reject_code IS NULL THEN c.error_field ELSE u.reject_field END ORDER BY c.n),
           array_agg(CASE WHEN u.reject_code IS NULL THEN c.error_message ELSE u.reject_message END ORDER BY c.n),
           array_agg(c.category ORDER BY c.n),
           array_agg(c.schema_version ORDER BY c.n)
      INTO v_ids, v_codes, v_fields, v_messages, v_categories, v_versions
      FROM platform_events_check_rows(p_event_types, p_event_data, p_metadata, v_occurred,
                                      p_user_ids, p_session_ids, v_trusted, v_session_user) AS c
      JOIN unnest(p_event_ids, p_reject_codes, p_reject_fields, p_reject_messages)
           WITH ORDINALITY AS u(event_id, reject_code, reject_field, reject_message, n)
        ON u.n = c.n;

    -- 2. Past the window, the same event re-sent (same id, same occurred_at) is found in the
    -- store: it was received after its occurred_at less the future limit and before the window.
    -- Only an event that occurred before the window can be one (a late arrival, a re-send): the
    -- common batch skips this; for the others each is looked up in the leaves of its span only
    -- (LATERAL ... LIMIT 1 with run-time pruning: a join would read the whole history).
    IF EXISTS (SELECT 1 FROM unnest(v_occurred) AS o(at) WHERE o.at < v_window_start + v_future) THEN
        v_stored_before := ARRAY(
            SELECT u.event_id
              FROM unnest(v_ids, v_occurred) AS u(event_id, occurred_at)
              JOIN LATERAL (SELECT 1 AS hit FROM platform_events o
                             WHERE o.event_id = u.event_id AND o.occurred_at = u.occurred_at
                               AND o.received_at >= u.occurred_at - v_future
                               AND o.received_at < v_window_start
                             LIMIT 1) found ON true
             WHERE u.event_id IS NOT NULL AND u.occurred_at < v_window_start + v_future);
    END IF;

    -- 3. Write the valid events; the first occurrence of an event_id in the batch is the one, and
    -- an id of the previous period's slot is a duplicate (the current slot's primary key refuses
    -- the rest). Without ON CONFLICT first (the common case, and the cheaper plan); an event_id
    -- already in this slot rolls that back, and the second statement stores only what the ledger
    -- takes.
    BEGIN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*, r.retention::text AS retention_class
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            JOIN (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                    FROM event_schemas s ORDER BY s.event_type, s.version DESC) r
              ON r.event_type = u.event_type
            -- LATERAL ... LIMIT 1: one index probe per event (an anti join would read the slot).
            LEFT JOIN LATERAL (SELECT 1 AS hit FROM platform_event_delivery p
                                WHERE p.ledger_slot = v_prev_slot AND p.event_id = u.event_id
                                LIMIT 1) seen ON true
            WHERE u.error_code IS NULL AND seen.hit IS NULL
              AND NOT u.event_id = ANY (v_stored_before)
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery (event_id, received_at, event_type, ledger_slot)
            SELECT v.event_id, now(), v.event_type, v_slot FROM valid v
        ), stored AS (
            INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                         session_id, occurred_at, received_at, event_data, metadata,
                                         retention_class)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb),
                   v.retention_class
            FROM valid v
        )
        -- Both inserts run to completion whether read or not: every valid event is stored.
        SELECT array_agg(v.n::integer) INTO v_accepted FROM valid v;
    EXCEPTION WHEN unique_violation THEN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*, r.retention::text AS retention_class
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            JOIN (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                    FROM event_schemas s ORDER BY s.event_type, s.version DESC) r
              ON r.event_type = u.event_type
            -- LATERAL ... LIMIT 1: one index probe per event (an anti join would read the slot).
            LEFT JOIN LATERAL (SELECT 1 AS hit FROM platform_event_delivery p
                                WHERE p.ledger_slot = v_prev_slot AND p.event_id = u.event_id
                                LIMIT 1) seen ON true
            WHERE u.error_code IS NULL AND seen.hit IS NULL
              AND NOT u.event_id = ANY (v_stored_before)
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery AS d (event_id, received_at, event_type, ledger_slot)
            SELECT v.event_id, now(), v.event_type, v_slot FROM valid v
            ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING
            RETURNING d.event_id
        ), stored AS (
            INSERT INTO platform_events AS e (event_id, event_type, event_category, schema_version, user_id,
                                              session_id, occurred_at, received_at, event_data, metadata,
                                              retention_class)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb),
                   v.retention_class
            FROM valid v JOIN ledger l ON l.event_id = v.event_id
            RETURNING e.event_id
        )
        SELECT array_agg(v.n::integer) INTO v_accepted
          FROM valid v JOIN stored s ON s.event_id = v.event_id;
    END;

    -- 4. One answer per event, in order.
    RETURN QUERY
    SELECT u.n::integer,
           u.event_id,
           CASE WHEN u.error_code IS NOT NULL THEN 'rejected'
                WHEN a.n IS NOT NULL THEN 'accepted'
                ELSE 'duplicate' END,
           u.error_code, u.error_field, u.error_message
    FROM unnest(v_ids, v_codes, v_fields, v_messages) WITH ORDINALITY
         AS u(event_id, error_code, error_field, error_message, n)
    LEFT JOIN unnest(v_accepted) AS a(n) ON a.n = u.n
    ORDER BY u.n;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_emit_rows(p_event_ids uuid[], p_event_types text[], p_event_data jsonb[], p_user_ids text[], p_session_ids text[], p_metadata jsonb[], p_occurred_at timestamp with time zone[], p_reject_codes text[], p_reject_fields text[], p_reject_messages text[]) FROM PUBLIC;

-- function platform_events_ensure_leaf(date, interval)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_ensure_leaf(p_month date, p_retention interval) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_month_name text := format('platform_events_%s', to_char(p_month, 'YYYY_MM'));
    v_leaf       text := format('platform_events_%s_r%s', to_char(p_month, 'YYYY_MM'),
                                platform_events_retention_label(p_retention));
    v_from       timestamptz := p_month::timestamp AT TIME ZONE 'UTC';
    v_to         timestamptz := (p_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF p_month IS NULL OR p_month <> date_trunc('month', p_month)::date OR p_retention IS NULL
       OR p_retention <= interval '0' THEN
        RAISE EXCEPTION 'a leaf needs the first day of a month and a positive retention'
            USING ERRCODE = '22023';
    END IF;
    IF to_regclass(v_month_name) IS NULL THEN
        IF EXISTS (SELECT 1 FROM platform_events_default d
                    WHERE d.received_at >= v_from AND d.received_at < v_to) THEN
            -- Events that arrived while the month was missing: the month is built beside the
            -- table, filled from the default partition, then attached.
            EXECUTE format('CREATE TABLE %I (LIKE platform_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
                           'PARTITION BY LIST (retention_class)', v_month_name);
            PERFORM platform_events_create_leaves(v_month_name, p_month,
                ARRAY(SELECT DISTINCT d.retention_class::interval FROM platform_events_default d
                       WHERE d.received_at >= v_from AND d.received_at < v_to
                      UNION SELECT p_retention));
            EXECUTE format('WITH moved AS (DELETE FROM platform_events_default
                                            WHERE received_at >= %L AND received_at < %L RETURNING *)
                            INSERT INTO %I SELECT * FROM moved', v_from, v_to, v_month_name);
            EXECUTE format('ALTER TABLE platform_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           v_month_name, v_from, v_to);
        ELSE
            EXECUTE format('CREATE TABLE %I PARTITION OF platform_events FOR VALUES FROM (%L) TO (%L) '
                           'PARTITION BY LIST (retention_class)', v_month_name, v_from, v_to);
        END IF;
        RETURN NEXT v_month_name;
    END IF;
    RETURN QUERY SELECT * FROM platform_events_create_leaves(v_month_name, p_month, ARRAY[p_retention]);
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_ensure_leaf(p_month date, p_retention interval) FROM PUBLIC;

-- function platform_events_fence_changed_batches()
-- created in 0050_durable_delivery_batches
CREATE FUNCTION public.platform_events_fence_changed_batches() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    UPDATE platform_event_delivery_batches b
       SET lease_token = gen_random_uuid(), lease_expires_at = '-infinity',
           fenced_reason = 'an event of the batch changed while in flight (erasure)'
     WHERE b.batch_id IN (SELECT d.batch_id
                            FROM platform_events_changed c
                            JOIN platform_event_delivery d ON d.event_id = c.event_id
                           WHERE d.batch_id IS NOT NULL);
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_fence_changed_batches() FROM PUBLIC;

-- function platform_events_held_slot()
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_held_slot() RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (3)::smallint;
REVOKE ALL ON FUNCTION public.platform_events_held_slot() FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_held_slot() TO platform_events_pipeline;

-- function platform_events_keep_rules()
-- created in 0060_validation_once
CREATE FUNCTION public.platform_events_keep_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    DELETE FROM platform_event_rules r
     WHERE r.event_type = NEW.event_type AND r.version = NEW.version;
    INSERT INTO platform_event_rules
    SELECT NEW.event_type, NEW.version, x.*
      FROM platform_event_schema_rules(NEW.json_schema) AS x;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_keep_rules() FROM PUBLIC;

-- function platform_events_leaf_expiry(text, boolean)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_leaf_expiry(p_leaf text, p_move boolean) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_part  record;
    v_found boolean;
    v_month date;
    v_type   text;
    v_longer interval;
BEGIN
    SELECT * INTO v_part FROM platform_event_partitions p WHERE p.partition_name = p_leaf;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a leaf partition of platform_events', quote_nullable(p_leaf)
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    IF v_part.range_end + v_part.retention
       + make_interval(secs => platform_events_limit('future_seconds')) > now() THEN
        RETURN 'not_expired';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM platform_event_delivery d JOIN %I e
                                      ON e.event_id = d.event_id AND e.received_at = d.received_at
                                   WHERE d.status <> ''delivered''
                                     AND d.received_at >= %L AND d.received_at < %L)',
                   p_leaf, v_part.range_start, v_part.range_end) INTO v_found;
    IF v_found THEN
        RETURN 'undelivered';
    END IF;
    IF p_move THEN
        -- Types whose retention grew since their events were stored here: to their class now
        -- (row movement through the parent, into the same month's leaf of that class). Per type,
        -- found by the leaf's (event_type, occurred_at) index: nearly always none.
        v_month := date_trunc('month', v_part.range_start AT TIME ZONE 'UTC')::date;
        FOR v_type, v_longer IN
            SELECT p.event_type, p.retention
              FROM (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                      FROM event_schemas s ORDER BY s.event_type, s.version DESC) p
             WHERE p.retention > v_part.retention
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE event_type = %L)', p_leaf, v_type)
               INTO v_found;
            CONTINUE WHEN NOT v_found;
            PERFORM platform_events_ensure_leaf(v_month, v_longer);
            EXECUTE format('UPDATE platform_events e SET retention_class = %L
                             WHERE e.received_at >= %L AND e.received_at < %L
                               AND e.retention_class = %L AND e.event_type = %L',
                           v_longer::text, v_part.range_start, v_part.range_end,
                           v_part.retention_class, v_type);
        END LOOP;
    END IF;
    RETURN 'expired';
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_leaf_expiry(p_leaf text, p_move boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_leaf_expiry(p_leaf text, p_move boolean) TO platform_events_pipeline;

-- function platform_events_leaves_for_retention()
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_leaves_for_retention() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_month date;
BEGIN
    FOR v_month IN
        SELECT DISTINCT date_trunc('month', p.range_start AT TIME ZONE 'UTC')::date
          FROM platform_event_months p
         WHERE p.range_end > date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month'
    LOOP
        PERFORM platform_events_ensure_leaf(v_month, NEW.retention);
    END LOOP;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_leaves_for_retention() FROM PUBLIC;

-- function platform_events_ledger_slot(timestamp with time zone)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_ledger_slot(p_at timestamp with time zone) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (((((floor((EXTRACT(epoch FROM (p_at - '1970-01-05 00:00:00+00'::timestamp with time zone)) / ((public.platform_events_limit('dedupe_window_days'::text) * 86400))::numeric)))::bigint % (3)::bigint) + 3) % (3)::bigint))::smallint;
REVOKE ALL ON FUNCTION public.platform_events_ledger_slot(p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_ledger_slot(p_at timestamp with time zone) TO platform_events_pipeline;

-- function platform_events_personal_metadata_keys()
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.platform_events_personal_metadata_keys() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT ARRAY['ip', 'ip_address', 'user_agent', 'email', 'name', 'phone', 'traits', 'referrer',
                 'url', 'page_url', 'location', 'geo', 'device_id', 'anonymous_id'];
$$;
REVOKE ALL ON FUNCTION public.platform_events_personal_metadata_keys() FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_personal_metadata_keys() TO platform_events_pipeline;

-- function platform_events_queue_user_erasure()
-- created in 0022_user_erasure
CREATE FUNCTION public.platform_events_queue_user_erasure() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO user_erasure_queue (user_id, source, requested_by)
    SELECT DISTINCT to_jsonb(d) ->> TG_ARGV[0], 'trigger',
           left(format('delete on %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), 200)
      FROM platform_events_deleted_users d
     WHERE to_jsonb(d) ->> TG_ARGV[0] IS NOT NULL AND to_jsonb(d) ->> TG_ARGV[0] <> ''
    ON CONFLICT (user_id) DO NOTHING;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_queue_user_erasure() FROM PUBLIC;

-- function platform_events_recycle_ledger(interval, integer)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_recycle_ledger(p_lock_timeout interval DEFAULT '00:00:00.05'::interval, p_attempts integer DEFAULT 20) RETURNS TABLE(slot smallint, outcome text, held bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_cur  smallint := platform_events_ledger_slot(now());
    v_prev smallint := platform_events_ledger_slot(
                           now() - make_interval(days => platform_events_limit('dedupe_window_days')));
    v_slot smallint;
    v_leaf text;
    v_held bigint := 0;
    v_old  text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '5 seconds' OR p_attempts IS NULL OR p_attempts < 1
       OR p_attempts > 1000 THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 5 s, attempts between 1 and 1000'
            USING ERRCODE = '22023', COLUMN = 'lock_timeout';
    END IF;
    v_slot := 3 - v_cur - v_prev;
    v_leaf := 'platform_event_delivery_slot_' || v_slot;
    slot := v_slot;
    -- One recycler at a time; ingest and streaming never take this lock.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_recycle_ledger'));
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', v_leaf) INTO STRICT outcome;
    IF outcome::boolean THEN
        outcome := 'empty';
        held := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE status = ''processing'')', v_leaf)
       INTO STRICT outcome;
    IF outcome::boolean THEN
        outcome := 'in_flight';
        held := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
    FOR i IN 1 .. p_attempts LOOP
        BEGIN
            -- Lock first, so no claim takes a row between the move and the truncate.
            EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', v_leaf);
            EXECUTE format(
                'WITH moved AS (DELETE FROM %I WHERE status <> ''delivered'' RETURNING *)
                 INSERT INTO platform_event_delivery (event_id, received_at, event_type, status,
                        retry_count, next_attempt_at, claimed_at, last_error, processed_at, batch_id,
                        ledger_slot)
                 SELECT m.event_id, m.received_at, m.event_type, m.status, m.retry_count,
                        m.next_attempt_at, m.claimed_at, m.last_error, m.processed_at, m.batch_id,
                        platform_events_held_slot()
                   FROM moved m', v_leaf);
            GET DIAGNOSTICS v_held = ROW_COUNT;
            EXECUTE format('TRUNCATE %I', v_leaf);
            PERFORM set_config('lock_timeout', v_old, true);
            outcome := 'recycled';
            held := v_held;
            RETURN NEXT;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(least(1.0, 0.02 * i) * (0.5 + random() / 2));
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
    outcome := 'busy';
    held := 0;
    RETURN NEXT;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_recycle_ledger(p_lock_timeout interval, p_attempts integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_recycle_ledger(p_lock_timeout interval, p_attempts integer) TO platform_events_pipeline;

-- function platform_events_retention_label(interval)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_retention_label(p_retention interval) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ((EXTRACT(day FROM p_retention) = (0)::numeric) AND (date_part('epoch'::text, (p_retention - date_trunc('day'::text, p_retention))) = (0)::double precision) AND ((((EXTRACT(year FROM p_retention) * (12)::numeric) + EXTRACT(month FROM p_retention)) % (12)::numeric) = (0)::numeric)) THEN (((((EXTRACT(year FROM p_retention) * (12)::numeric) + EXTRACT(month FROM p_retention)) / (12)::numeric))::bigint || 'y'::text) WHEN ((EXTRACT(day FROM p_retention) = (0)::numeric) AND (date_part('epoch'::text, (p_retention - date_trunc('day'::text, p_retention))) = (0)::double precision)) THEN ((((EXTRACT(year FROM p_retention) * (12)::numeric) + EXTRACT(month FROM p_retention)))::bigint || 'm'::text) WHEN ((EXTRACT(year FROM p_retention) = (0)::numeric) AND (EXTRACT(month FROM p_retention) = (0)::numeric) AND (date_part('epoch'::text, (p_retention - date_trunc('day'::text, p_retention))) = (0)::double precision)) THEN ((EXTRACT(day FROM p_retention))::bigint || 'd'::text) ELSE ((EXTRACT(epoch FROM p_retention))::bigint || 's'::text) END;
REVOKE ALL ON FUNCTION public.platform_events_retention_label(p_retention interval) FROM PUBLIC;

-- function platform_events_retention_preview()
-- created in 0004_metrics_aggregation_retention; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_retention_preview() RETURNS TABLE(event_type text, category text, retention interval, expired bigint)
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
    WITH policy AS (
        SELECT DISTINCT ON (s.event_type) s.event_type, s.category, s.retention
          FROM event_schemas s
         ORDER BY s.event_type, s.version DESC
    )
    SELECT p.event_type, p.category, p.retention,
           (SELECT count(*)
              FROM platform_events e
             WHERE e.event_type = p.event_type
               AND e.occurred_at < now() - p.retention
               AND NOT platform_events_undelivered(e.event_id, e.received_at))
      FROM policy p
     ORDER BY p.event_type;
$$;
REVOKE ALL ON FUNCTION public.platform_events_retention_preview() FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_retention_preview() TO platform_events_pipeline;

-- function platform_events_row_user(text, text)
-- created in 0045_function_grants
CREATE FUNCTION public.platform_events_row_user(p_row_user text, p_column text DEFAULT 'user_id'::text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
BEGIN
    IF v_session_user IS NOT NULL AND p_row_user IS DISTINCT FROM v_session_user
       AND NOT platform_events_caller_is_trusted() THEN
        -- The value itself stays out of the message: error text reaches logs.
        RAISE EXCEPTION '% does not match the session user (platform_events.user_id)', p_column
            USING ERRCODE = '42501', COLUMN = p_column;
    END IF;
    RETURN p_row_user;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_row_user(p_row_user text, p_column text) FROM PUBLIC;

-- function platform_events_scrub_json(jsonb, text)
-- created in 0022_user_erasure
CREATE FUNCTION public.platform_events_scrub_json(p_value jsonb, p_needle text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    -- Fast path: the needle, as a JSON string, does not occur in the document at all.
    IF p_value IS NULL OR strpos(p_value::text, to_jsonb(p_needle)::text) = 0 THEN
        RETURN p_value;
    END IF;
    CASE jsonb_typeof(p_value)
        WHEN 'object' THEN
            RETURN (SELECT coalesce(jsonb_object_agg(t.k, platform_events_scrub_json(t.v, p_needle)),
                                    '{}'::jsonb)
                      FROM jsonb_each(p_value) AS t(k, v));
        WHEN 'array' THEN
            RETURN (SELECT coalesce(jsonb_agg(platform_events_scrub_json(t.v, p_needle) ORDER BY t.n),
                                    '[]'::jsonb)
                      FROM jsonb_array_elements(p_value) WITH ORDINALITY AS t(v, n));
        WHEN 'string' THEN
            RETURN CASE WHEN p_value = to_jsonb(p_needle) THEN 'null'::jsonb ELSE p_value END;
        ELSE
            RETURN p_value;
    END CASE;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_scrub_json(p_value jsonb, p_needle text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_scrub_json(p_value jsonb, p_needle text) TO platform_events_pipeline;

-- function platform_events_store(text, jsonb, text, text, jsonb, timestamp with time zone, uuid)
-- created in 0003_event_functions; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_store(p_event_type text, p_event_data jsonb, p_user_id text, p_session_id text, p_metadata jsonb, p_occurred_at timestamp with time zone, p_event_id uuid) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_id      uuid := coalesce(p_event_id, gen_random_uuid());
    v_check   platform_event_check_result;
    v_now     timestamptz := now();
    v_slot    smallint := platform_events_ledger_slot(now());
    v_prev    smallint := platform_events_ledger_slot(
                              now() - make_interval(days => platform_events_limit('dedupe_window_days')));
BEGIN
    v_check := platform_event_check(p_event_type, p_event_data, p_metadata,
                                    coalesce(p_occurred_at, v_now), p_user_id, p_session_id);
    IF v_check.error_code IS NOT NULL THEN
        RAISE EXCEPTION '%', v_check.error_message
            USING ERRCODE = v_check.error_code, COLUMN = v_check.error_field;
    END IF;
    IF EXISTS (SELECT 1 FROM platform_event_delivery d WHERE d.ledger_slot = v_prev AND d.event_id = v_id) THEN
        RETURN v_id;  -- stored last period: a retry of the same event
    END IF;
    -- Past the window, only an event that occurred before it can have been stored (see emit_rows).
    IF coalesce(p_occurred_at, v_now) < v_now - make_interval(days => platform_events_limit('dedupe_window_days'))
                                         + make_interval(secs => platform_events_limit('future_seconds'))
       AND EXISTS (SELECT 1 FROM platform_events o
                    WHERE o.event_id = v_id AND o.occurred_at = p_occurred_at
                      AND o.received_at >= p_occurred_at
                                           - make_interval(secs => platform_events_limit('future_seconds'))
                      AND o.received_at < v_now - make_interval(days => platform_events_limit('dedupe_window_days'))) THEN
        RETURN v_id;  -- stored before the window: a retry of the same event
    END IF;
    INSERT INTO platform_event_delivery (event_id, received_at, event_type, ledger_slot)
    VALUES (v_id, v_now, p_event_type, v_slot)
    ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN v_id;  -- already stored: a retry of the same event
    END IF;
    INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                 session_id, occurred_at, received_at, event_data, metadata, retention_class)
    VALUES (v_id, p_event_type, v_check.category, v_check.schema_version, p_user_id, p_session_id,
            coalesce(p_occurred_at, v_now), v_now, p_event_data, coalesce(p_metadata, '{}'::jsonb),
            platform_events_type_retention(p_event_type)::text);
    RETURN v_id;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_store(p_event_type text, p_event_data jsonb, p_user_id text, p_session_id text, p_metadata jsonb, p_occurred_at timestamp with time zone, p_event_id uuid) FROM PUBLIC;

-- function platform_events_try_timestamptz(text)
-- created in 0003_event_functions
CREATE FUNCTION public.platform_events_try_timestamptz(p_text text) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN p_text::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_try_timestamptz(p_text text) FROM PUBLIC;

-- function platform_events_try_uuid(text)
-- created in 0003_event_functions
CREATE FUNCTION public.platform_events_try_uuid(p_text text) RETURNS uuid
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    RETURN p_text::uuid;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION public.platform_events_try_uuid(p_text text) FROM PUBLIC;

-- function platform_events_type_retention(text)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_type_retention(p_event_type text) RETURNS interval
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_temp'
    RETURN (SELECT s.retention FROM public.event_schemas s WHERE (s.event_type = platform_events_type_retention.p_event_type) ORDER BY s.version DESC LIMIT 1);
REVOKE ALL ON FUNCTION public.platform_events_type_retention(p_event_type text) FROM PUBLIC;

-- ================================================================================================
-- Tables, views and sequences
-- ================================================================================================

-- table platform_event_delivery
-- created in 0001_event_store; replaced in 0062_partitions_by_retention; altered in 0006_roles_and_security, 0050_durable_delivery_batches
CREATE TABLE public.platform_event_delivery (
    event_id uuid CONSTRAINT platform_event_delivery_event_id_not_null1 NOT NULL,
    received_at timestamp with time zone CONSTRAINT platform_event_delivery_received_at_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_event_delivery_event_type_not_null1 NOT NULL,
    status text DEFAULT 'pending'::text CONSTRAINT platform_event_delivery_status_not_null1 NOT NULL,
    retry_count integer DEFAULT 0 CONSTRAINT platform_event_delivery_retry_count_not_null1 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() CONSTRAINT platform_event_delivery_next_attempt_at_not_null1 NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    processed_at timestamp with time zone,
    batch_id uuid,
    ledger_slot smallint DEFAULT public.platform_events_held_slot() NOT NULL,
    CONSTRAINT platform_event_delivery_check CHECK (((ledger_slot = public.platform_events_held_slot()) OR (ledger_slot = public.platform_events_ledger_slot(received_at)))),
    CONSTRAINT platform_event_delivery_retry_count_check1 CHECK ((retry_count >= 0)),
    CONSTRAINT platform_event_delivery_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'delivered'::text, 'failed'::text])))
)
PARTITION BY LIST (ledger_slot);
COMMENT ON TABLE public.platform_event_delivery IS 'Queue and delivery state of each event, and the idempotency ledger of the dedupe window: slots 0-2 are weeks (current, previous, next to recycle), slot 3 holds undelivered rows older than the window. An event without a row is delivered.';
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.platform_event_delivery TO platform_events_pipeline;

-- ================================================================================================
-- Functions
-- ================================================================================================

-- function platform_events_undelivered(uuid, timestamp with time zone)
-- created in 0062_partitions_by_retention
CREATE FUNCTION public.platform_events_undelivered(p_event_id uuid, p_received_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'public', 'pg_temp'
    RETURN (EXISTS (SELECT 1 FROM public.platform_event_delivery d WHERE ((d.event_id = platform_events_undelivered.p_event_id) AND (d.received_at = platform_events_undelivered.p_received_at) AND (d.status <> 'delivered'::text))));
REVOKE ALL ON FUNCTION public.platform_events_undelivered(p_event_id uuid, p_received_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_events_undelivered(p_event_id uuid, p_received_at timestamp with time zone) TO platform_events_pipeline;

-- function promote_quarantined_events(text, integer, timestamp with time zone, uuid)
-- created in 0039_quarantine_promotion
CREATE FUNCTION public.promote_quarantined_events(p_event_type text DEFAULT NULL::text, p_limit integer DEFAULT 10000, p_after timestamp with time zone DEFAULT NULL::timestamp with time zone, p_after_id uuid DEFAULT NULL::uuid) RETURNS TABLE(event_type text, accepted integer, duplicate integer, rejected integer, last_received_at timestamp with time zone, last_event_id uuid)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_ids    uuid[];
    v_types  text[];
    v_events jsonb;
    v_last_at timestamptz;
    v_last_id uuid;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 50000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 50000, got %', p_limit
            USING ERRCODE = '22023', COLUMN = 'limit';
    END IF;

    WITH picked AS (
        SELECT q.*
        FROM platform_events_quarantine q
        WHERE (p_event_type IS NULL OR q.event_type = p_event_type)
          AND (p_after IS NULL
               OR (q.received_at, q.event_id) > (p_after, coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)))
          AND EXISTS (SELECT 1 FROM event_schemas s
                      WHERE s.event_type = q.event_type AND s.is_active)
        ORDER BY q.received_at, q.event_id
        LIMIT p_limit
        FOR UPDATE OF q SKIP LOCKED
    )
    SELECT array_agg(p.event_id ORDER BY p.received_at, p.event_id),
           array_agg(p.event_type ORDER BY p.received_at, p.event_id),
           jsonb_agg(jsonb_build_object(
                         'event_id', p.event_id,
                         'event_type', p.event_type,
                         'event_data', p.event_data,
                         'user_id', p.user_id,
                         'session_id', p.session_id,
                         'metadata', p.metadata
                                     || jsonb_build_object('quarantined_at', p.received_at))
                     || CASE WHEN p.occurred_at IS NULL THEN '{}'::jsonb
                             ELSE jsonb_build_object('occurred_at', p.occurred_at) END
                     ORDER BY p.received_at, p.event_id),
           (array_agg(p.received_at ORDER BY p.received_at DESC, p.event_id DESC))[1],
           (array_agg(p.event_id ORDER BY p.received_at DESC, p.event_id DESC))[1]
    INTO v_ids, v_types, v_events, v_last_at, v_last_id
    FROM picked p;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;

    -- One statement: emit_platform_events runs once (a volatile CTE is materialised) and both
    -- changes to the quarantine read its answers.
    RETURN QUERY
    WITH answers AS (
        SELECT v_ids[r.ordinal] AS event_id, v_types[r.ordinal] AS event_type, r.status,
               format('rejected on promotion: %s %s: %s',
                      r.error_code, r.error_field, r.error_message) AS error
        FROM emit_platform_events(v_events) AS r
    ), promoted AS (
        DELETE FROM platform_events_quarantine q
        USING answers a
        WHERE q.event_id = a.event_id AND a.status IN ('accepted', 'duplicate')
    ), still_invalid AS (
        UPDATE platform_events_quarantine q
        SET reason = left(a.error, 1000)
        FROM answers a
        WHERE q.event_id = a.event_id AND a.status = 'rejected'
    )
    SELECT a.event_type,
           count(*) FILTER (WHERE a.status = 'accepted')::integer,
           count(*) FILTER (WHERE a.status = 'duplicate')::integer,
           count(*) FILTER (WHERE a.status = 'rejected')::integer,
           v_last_at, v_last_id
    FROM answers a
    GROUP BY a.event_type
    ORDER BY a.event_type;
END;
$$;
COMMENT ON FUNCTION public.promote_quarantined_events(p_event_type text, p_limit integer, p_after timestamp with time zone, p_after_id uuid) IS 'Moves quarantined events whose type now has an active schema into platform_events (oldest first, at most p_limit).';
REVOKE ALL ON FUNCTION public.promote_quarantined_events(p_event_type text, p_limit integer, p_after timestamp with time zone, p_after_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.promote_quarantined_events(p_event_type text, p_limit integer, p_after timestamp with time zone, p_after_id uuid) TO platform_events_pipeline;

-- function purge_platform_events_dead_letter(interval)
-- created in 0041_ingest_dead_letter
CREATE FUNCTION public.purge_platform_events_dead_letter(p_older_than interval DEFAULT '30 days'::interval) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_events_dead_letter WHERE received_at < now() - p_older_than;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.purge_platform_events_dead_letter(p_older_than interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.purge_platform_events_dead_letter(p_older_than interval) TO platform_events_pipeline;

-- function purge_platform_events_quarantine(interval)
-- created in 0032_ingest_quarantine
CREATE FUNCTION public.purge_platform_events_quarantine(p_older_than interval DEFAULT '30 days'::interval) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_events_quarantine WHERE received_at < now() - p_older_than;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.purge_platform_events_quarantine(p_older_than interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.purge_platform_events_quarantine(p_older_than interval) TO platform_events_pipeline;

-- function quarantine_platform_events(jsonb)
-- created in 0032_ingest_quarantine; altered in 0046_storable_values_at_emit
CREATE FUNCTION public.quarantine_platform_events(p_events jsonb) RETURNS TABLE(ordinal integer, event_id uuid, status text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    SET enable_nestloop TO 'off'
    SET jit TO 'off'
    AS $$
BEGIN
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' OR jsonb_array_length(p_events) > 50000 THEN
        RAISE EXCEPTION 'quarantine_platform_events expects a JSON array of at most 50000 events'
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    RETURN QUERY
    WITH raw AS (
        SELECT i.n::integer AS n, (i.e ->> 'event_id')::uuid AS event_id, i.e
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, n)
    ), firsts AS (
        SELECT DISTINCT ON (r.event_id) r.* FROM raw r ORDER BY r.event_id, r.n
    ), stored AS (
        INSERT INTO platform_events_quarantine AS q (event_id, event_type, source_name, reason, user_id,
                                                     session_id, occurred_at, event_data, metadata)
        SELECT f.event_id, left(f.e ->> 'event_type', 255), left(f.e ->> 'source_name', 1000),
               coalesce(f.e ->> 'reason', 'unknown event type'), f.e ->> 'user_id', f.e ->> 'session_id',
               (f.e ->> 'occurred_at')::timestamptz, coalesce(f.e -> 'event_data', '{}'::jsonb),
               coalesce(f.e -> 'metadata', '{}'::jsonb)
        FROM firsts f
        ON CONFLICT ON CONSTRAINT platform_events_quarantine_pkey DO NOTHING
        RETURNING q.event_id
    )
    SELECT r.n, r.event_id,
           CASE WHEN s.event_id IS NOT NULL AND r.n = f.n THEN 'quarantined' ELSE 'duplicate' END
    FROM raw r
    JOIN firsts f ON f.event_id = r.event_id
    LEFT JOIN stored s ON s.event_id = r.event_id
    ORDER BY r.n;
END;
$$;
REVOKE ALL ON FUNCTION public.quarantine_platform_events(p_events jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.quarantine_platform_events(p_events jsonb) TO platform_events_ingest;

-- function settle_delivery_batch(uuid, uuid, uuid[], uuid[], text[], boolean[], integer, interval, boolean, text, text, text, interval, interval)
-- created in 0050_durable_delivery_batches; replaced in 0062_partitions_by_retention
CREATE FUNCTION public.settle_delivery_batch(p_batch_id uuid, p_lease_token uuid, p_delivered uuid[], p_released uuid[], p_errors text[], p_final boolean[], p_max_retries integer, p_backoff interval, p_hold boolean, p_sink text, p_sink_state text, p_sink_error text, p_hold_base interval, p_hold_max interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_token    uuid;
    v_failures integer := 0;
    v_due      timestamptz;
    v_slots    smallint[];
BEGIN
    IF p_sink_state NOT IN ('ok', 'unavailable', 'throttled', 'misconfigured') THEN
        RAISE EXCEPTION 'sink state must be ok, unavailable, throttled, misconfigured or NULL'
            USING ERRCODE = '22023', COLUMN = 'sink_state';
    END IF;
    -- The slots the members can be in: those of the batch's received range, and the held one.
    SELECT b.lease_token,
           CASE WHEN NOT isfinite(b.received_lo) OR NOT isfinite(b.received_hi)
                THEN ARRAY[0, 1, 2, 3]::smallint[]  -- (rows planted by hand: in the held slot)
                WHEN b.received_hi - b.received_lo
                     >= make_interval(days => platform_events_limit('dedupe_window_days'))
                THEN ARRAY[0, 1, 2, 3]::smallint[]
                ELSE ARRAY[platform_events_ledger_slot(b.received_lo),
                           platform_events_ledger_slot(b.received_hi), platform_events_held_slot()] END
      INTO v_token, v_slots
      FROM platform_event_delivery_batches b WHERE b.batch_id = p_batch_id FOR UPDATE;
    IF v_token IS NULL OR v_token <> p_lease_token THEN
        RAISE EXCEPTION 'the lease of delivery batch % passed to another worker', p_batch_id
            USING ERRCODE = 'PE050', HINT = 'nothing was changed; stop working on this batch';
    END IF;

    IF cardinality(p_delivered) > 0 THEN
        UPDATE platform_event_delivery d
           SET status = 'delivered', processed_at = now(), last_error = NULL, claimed_at = NULL,
               batch_id = NULL
         WHERE d.event_id = ANY (p_delivered) AND d.batch_id = p_batch_id
           AND d.ledger_slot = ANY (v_slots);
    END IF;
    IF cardinality(p_released) > 0 THEN
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN r.final OR d.retry_count + 1 >= p_max_retries THEN 'failed'
                             ELSE 'pending' END,
               next_attempt_at = now() + platform_events_backoff(d.retry_count + 1, p_backoff),
               last_error = left(coalesce(r.error, 'unknown error'), 2000),
               claimed_at = NULL,
               batch_id = NULL
          FROM unnest(p_released, p_errors, p_final) AS r(event_id, error, final)
         WHERE d.event_id = r.event_id AND d.batch_id = p_batch_id
           AND d.ledger_slot = ANY (v_slots);
    END IF;

    IF p_sink_state IS NULL THEN
        NULL;  -- a batch given back unwritten: the sink's health is what the last write left
    ELSIF p_sink_state = 'ok' THEN
        -- A no-op (and no lock) while the sink is healthy, which is nearly always.
        UPDATE platform_event_sink_health h
           SET state = 'ok', consecutive_failures = 0, retry_at = NULL, recovered_at = now()
         WHERE h.warehouse = p_sink AND h.state <> 'ok';
    ELSE
        INSERT INTO platform_event_sink_health AS h
               (warehouse, state, last_error, failing_since, last_failure_at, consecutive_failures)
        VALUES (p_sink, p_sink_state, left(p_sink_error, 2000), now(), now(), 1)
        ON CONFLICT (warehouse) DO UPDATE
           SET state = excluded.state, last_error = excluded.last_error,
               failing_since = CASE WHEN h.state = 'ok' THEN now() ELSE h.failing_since END,
               last_failure_at = now(),
               consecutive_failures = h.consecutive_failures + 1
        RETURNING h.consecutive_failures INTO v_failures;
    END IF;

    IF p_hold AND p_sink_state IS NULL THEN
        -- Due when the sink is tried again, or at once when it is healthy.
        v_due := coalesce((SELECT h.retry_at FROM platform_event_sink_health h
                            WHERE h.warehouse = p_sink AND h.state <> 'ok'), now());
    ELSIF p_hold THEN
        v_due := now() + CASE WHEN v_failures = 0 THEN interval '0'
                              ELSE least(p_hold_base * power(2, least(v_failures - 1, 20))::double precision,
                                         p_hold_max) * (0.5 + random() / 2) END;
    END IF;
    IF p_hold THEN
        UPDATE platform_event_delivery_batches b
           SET lease_token = gen_random_uuid(), holder = NULL, lease_expires_at = v_due,
               last_error = coalesce(left(p_sink_error, 2000), b.last_error)
         WHERE b.batch_id = p_batch_id;
        IF p_sink_state <> 'ok' THEN  -- (NULL: left as it is)
            UPDATE platform_event_sink_health h SET retry_at = v_due WHERE h.warehouse = p_sink;
        END IF;
    ELSE
        DELETE FROM platform_event_delivery_batches b WHERE b.batch_id = p_batch_id;
    END IF;
    RETURN v_due;
END;
$$;
REVOKE ALL ON FUNCTION public.settle_delivery_batch(p_batch_id uuid, p_lease_token uuid, p_delivered uuid[], p_released uuid[], p_errors text[], p_final boolean[], p_max_retries integer, p_backoff interval, p_hold boolean, p_sink text, p_sink_state text, p_sink_error text, p_hold_base interval, p_hold_max interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.settle_delivery_batch(p_batch_id uuid, p_lease_token uuid, p_delivered uuid[], p_released uuid[], p_errors text[], p_final boolean[], p_max_retries integer, p_backoff interval, p_hold boolean, p_sink text, p_sink_state text, p_sink_error text, p_hold_base interval, p_hold_max interval) TO platform_events_pipeline;

-- function update_realtime_metric(text, double precision, jsonb, interval, boolean)
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.update_realtime_metric(p_metric_name text, p_value double precision, p_dimensions jsonb DEFAULT '{}'::jsonb, p_ttl interval DEFAULT '01:00:00'::interval, p_increment boolean DEFAULT false) RETURNS double precision
    LANGUAGE sql
    SET search_path TO 'public', 'pg_temp'
    AS $$
    INSERT INTO platform_metrics_realtime AS m (metric_name, dimensions, metric_value, updated_at, expires_at)
    VALUES (p_metric_name, coalesce(p_dimensions, '{}'::jsonb), p_value, now(), now() + p_ttl)
    ON CONFLICT (metric_name, dimensions) DO UPDATE
       SET metric_value = CASE WHEN p_increment AND m.expires_at > now()
                               THEN m.metric_value + excluded.metric_value
                               ELSE excluded.metric_value END,
           updated_at = now(),
           expires_at = excluded.expires_at
    RETURNING m.metric_value;
$$;
REVOKE ALL ON FUNCTION public.update_realtime_metric(p_metric_name text, p_value double precision, p_dimensions jsonb, p_ttl interval, p_increment boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_realtime_metric(p_metric_name text, p_value double precision, p_dimensions jsonb, p_ttl interval, p_increment boolean) TO platform_events_pipeline;

-- function update_realtime_metrics(text[], double precision[], jsonb[], interval, boolean)
-- created in 0004_metrics_aggregation_retention
CREATE FUNCTION public.update_realtime_metrics(p_metric_names text[], p_values double precision[], p_dimensions jsonb[], p_ttl interval DEFAULT '01:00:00'::interval, p_increment boolean DEFAULT true) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_count integer;
BEGIN
    INSERT INTO platform_metrics_realtime AS m (metric_name, dimensions, metric_value, updated_at, expires_at)
    SELECT u.name, coalesce(u.dims, '{}'::jsonb), sum(u.value), now(), now() + p_ttl
      FROM unnest(p_metric_names, p_values, p_dimensions) AS u(name, value, dims)
     GROUP BY u.name, coalesce(u.dims, '{}'::jsonb)
    ON CONFLICT (metric_name, dimensions) DO UPDATE
       SET metric_value = CASE WHEN p_increment AND m.expires_at > now()
                               THEN m.metric_value + excluded.metric_value
                               ELSE excluded.metric_value END,
           updated_at = now(),
           expires_at = excluded.expires_at;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
REVOKE ALL ON FUNCTION public.update_realtime_metrics(p_metric_names text[], p_values double precision[], p_dimensions jsonb[], p_ttl interval, p_increment boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION public.update_realtime_metrics(p_metric_names text[], p_values double precision[], p_dimensions jsonb[], p_ttl interval, p_increment boolean) TO platform_events_pipeline;

-- ================================================================================================
-- Tables, views and sequences
-- ================================================================================================

-- table event_aggregations
-- created in 0001_event_store
CREATE TABLE public.event_aggregations (
    aggregation_id bigint NOT NULL,
    bucket_start timestamp with time zone NOT NULL,
    granularity text NOT NULL,
    event_type text NOT NULL,
    event_count bigint NOT NULL,
    unique_users bigint NOT NULL,
    unique_sessions bigint NOT NULL,
    metrics jsonb DEFAULT '{}'::jsonb NOT NULL,
    computed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT event_aggregations_event_count_check CHECK ((event_count >= 0)),
    CONSTRAINT event_aggregations_granularity_check CHECK ((granularity = ANY (ARRAY['hour'::text, 'day'::text, 'week'::text]))),
    CONSTRAINT event_aggregations_unique_sessions_check CHECK ((unique_sessions >= 0)),
    CONSTRAINT event_aggregations_unique_users_check CHECK ((unique_users >= 0))
);
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.event_aggregations TO platform_events_pipeline;
GRANT SELECT ON TABLE public.event_aggregations TO platform_events_analyst;

-- sequence event_aggregations_aggregation_id_seq
ALTER TABLE public.event_aggregations ALTER COLUMN aggregation_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.event_aggregations_aggregation_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- table platform_event_delivery_batches
-- created in 0050_durable_delivery_batches
CREATE TABLE public.platform_event_delivery_batches (
    batch_id uuid NOT NULL,
    event_ids uuid[] NOT NULL,
    received_lo timestamp with time zone NOT NULL,
    received_hi timestamp with time zone NOT NULL,
    lease_token uuid NOT NULL,
    lease_expires_at timestamp with time zone NOT NULL,
    holder text,
    attempt integer DEFAULT 1 NOT NULL,
    checkpoint jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_error text,
    fenced_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT platform_event_delivery_batches_attempt_check CHECK ((attempt >= 1)),
    CONSTRAINT platform_event_delivery_batches_checkpoint_check CHECK ((jsonb_typeof(checkpoint) = 'object'::text)),
    CONSTRAINT platform_event_delivery_batches_holder_check CHECK ((length(holder) <= 200))
)
WITH (fillfactor='70');
COMMENT ON TABLE public.platform_event_delivery_batches IS 'Delivery batches in flight: fixed members, a lease (token, expiry, holder; holder NULL = given back until lease_expires_at), the sink''s write checkpoint. batch_id is the warehouse load_id.';
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.platform_event_delivery_batches TO platform_events_pipeline;

-- table platform_event_delivery_held
-- created in 0062_partitions_by_retention
CREATE TABLE public.platform_event_delivery_held (
    event_id uuid CONSTRAINT platform_event_delivery_event_id_not_null1 NOT NULL,
    received_at timestamp with time zone CONSTRAINT platform_event_delivery_received_at_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_event_delivery_event_type_not_null1 NOT NULL,
    status text DEFAULT 'pending'::text CONSTRAINT platform_event_delivery_status_not_null1 NOT NULL,
    retry_count integer DEFAULT 0 CONSTRAINT platform_event_delivery_retry_count_not_null1 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() CONSTRAINT platform_event_delivery_next_attempt_at_not_null1 NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    processed_at timestamp with time zone,
    batch_id uuid,
    ledger_slot smallint DEFAULT public.platform_events_held_slot() CONSTRAINT platform_event_delivery_ledger_slot_not_null NOT NULL,
    CONSTRAINT platform_event_delivery_check CHECK (((ledger_slot = public.platform_events_held_slot()) OR (ledger_slot = public.platform_events_ledger_slot(received_at)))),
    CONSTRAINT platform_event_delivery_retry_count_check1 CHECK ((retry_count >= 0)),
    CONSTRAINT platform_event_delivery_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'delivered'::text, 'failed'::text])))
)
WITH (fillfactor='80');

-- table platform_event_delivery_slot_0
-- created in 0062_partitions_by_retention
CREATE TABLE public.platform_event_delivery_slot_0 (
    event_id uuid CONSTRAINT platform_event_delivery_event_id_not_null1 NOT NULL,
    received_at timestamp with time zone CONSTRAINT platform_event_delivery_received_at_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_event_delivery_event_type_not_null1 NOT NULL,
    status text DEFAULT 'pending'::text CONSTRAINT platform_event_delivery_status_not_null1 NOT NULL,
    retry_count integer DEFAULT 0 CONSTRAINT platform_event_delivery_retry_count_not_null1 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() CONSTRAINT platform_event_delivery_next_attempt_at_not_null1 NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    processed_at timestamp with time zone,
    batch_id uuid,
    ledger_slot smallint DEFAULT public.platform_events_held_slot() CONSTRAINT platform_event_delivery_ledger_slot_not_null NOT NULL,
    CONSTRAINT platform_event_delivery_check CHECK (((ledger_slot = public.platform_events_held_slot()) OR (ledger_slot = public.platform_events_ledger_slot(received_at)))),
    CONSTRAINT platform_event_delivery_retry_count_check1 CHECK ((retry_count >= 0)),
    CONSTRAINT platform_event_delivery_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'delivered'::text, 'failed'::text])))
)
WITH (fillfactor='80', autovacuum_vacuum_scale_factor='0.02', autovacuum_vacuum_insert_scale_factor='0.05', autovacuum_analyze_scale_factor='0.02');

-- table platform_event_delivery_slot_1
-- created in 0062_partitions_by_retention
CREATE TABLE public.platform_event_delivery_slot_1 (
    event_id uuid CONSTRAINT platform_event_delivery_event_id_not_null1 NOT NULL,
    received_at timestamp with time zone CONSTRAINT platform_event_delivery_received_at_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_event_delivery_event_type_not_null1 NOT NULL,
    status text DEFAULT 'pending'::text CONSTRAINT platform_event_delivery_status_not_null1 NOT NULL,
    retry_count integer DEFAULT 0 CONSTRAINT platform_event_delivery_retry_count_not_null1 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() CONSTRAINT platform_event_delivery_next_attempt_at_not_null1 NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    processed_at timestamp with time zone,
    batch_id uuid,
    ledger_slot smallint DEFAULT public.platform_events_held_slot() CONSTRAINT platform_event_delivery_ledger_slot_not_null NOT NULL,
    CONSTRAINT platform_event_delivery_check CHECK (((ledger_slot = public.platform_events_held_slot()) OR (ledger_slot = public.platform_events_ledger_slot(received_at)))),
    CONSTRAINT platform_event_delivery_retry_count_check1 CHECK ((retry_count >= 0)),
    CONSTRAINT platform_event_delivery_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'delivered'::text, 'failed'::text])))
)
WITH (fillfactor='80', autovacuum_vacuum_scale_factor='0.02', autovacuum_vacuum_insert_scale_factor='0.05', autovacuum_analyze_scale_factor='0.02');

-- table platform_event_delivery_slot_2
-- created in 0062_partitions_by_retention
CREATE TABLE public.platform_event_delivery_slot_2 (
    event_id uuid CONSTRAINT platform_event_delivery_event_id_not_null1 NOT NULL,
    received_at timestamp with time zone CONSTRAINT platform_event_delivery_received_at_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_event_delivery_event_type_not_null1 NOT NULL,
    status text DEFAULT 'pending'::text CONSTRAINT platform_event_delivery_status_not_null1 NOT NULL,
    retry_count integer DEFAULT 0 CONSTRAINT platform_event_delivery_retry_count_not_null1 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() CONSTRAINT platform_event_delivery_next_attempt_at_not_null1 NOT NULL,
    claimed_at timestamp with time zone,
    last_error text,
    processed_at timestamp with time zone,
    batch_id uuid,
    ledger_slot smallint DEFAULT public.platform_events_held_slot() CONSTRAINT platform_event_delivery_ledger_slot_not_null NOT NULL,
    CONSTRAINT platform_event_delivery_check CHECK (((ledger_slot = public.platform_events_held_slot()) OR (ledger_slot = public.platform_events_ledger_slot(received_at)))),
    CONSTRAINT platform_event_delivery_retry_count_check1 CHECK ((retry_count >= 0)),
    CONSTRAINT platform_event_delivery_status_check1 CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'delivered'::text, 'failed'::text])))
)
WITH (fillfactor='80', autovacuum_vacuum_scale_factor='0.02', autovacuum_vacuum_insert_scale_factor='0.05', autovacuum_analyze_scale_factor='0.02');

-- table platform_events
-- created in 0001_event_store; replaced in 0062_partitions_by_retention; altered in 0002_partition_maintenance, 0006_roles_and_security, 0021_partition_retirement
CREATE TABLE public.platform_events (
    event_id uuid DEFAULT gen_random_uuid() CONSTRAINT platform_events_event_id_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_events_event_type_not_null1 NOT NULL,
    event_category text CONSTRAINT platform_events_event_category_not_null1 NOT NULL,
    schema_version integer CONSTRAINT platform_events_schema_version_not_null1 NOT NULL,
    user_id text,
    session_id text,
    occurred_at timestamp with time zone DEFAULT now() CONSTRAINT platform_events_occurred_at_not_null1 NOT NULL,
    received_at timestamp with time zone DEFAULT now() CONSTRAINT platform_events_received_at_not_null1 NOT NULL,
    event_data jsonb DEFAULT '{}'::jsonb CONSTRAINT platform_events_event_data_not_null1 NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb CONSTRAINT platform_events_metadata_not_null1 NOT NULL,
    retention_class text NOT NULL
)
PARTITION BY RANGE (received_at);
COMMENT ON TABLE public.platform_events IS 'Every accepted event: partitioned by month of received_at (server clock), each month by retention class (the type''s retention when stored), so retention drops whole partitions. Delivery state is in platform_event_delivery.';
COMMENT ON COLUMN public.platform_events.retention_class IS 'The type''s retention when the event was stored (the interval''s text, e.g. 1 year): its partition''s class.';
GRANT SELECT ON TABLE public.platform_events TO platform_events_app;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.platform_events TO platform_events_pipeline;

-- view platform_event_months
-- created in 0062_partitions_by_retention
CREATE VIEW public.platform_event_months AS
 SELECT (c.relname)::text AS partition_name,
    pg_get_expr(c.relpartbound, c.oid) AS bounds,
    ((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'::text))[1])::timestamp with time zone AS range_start,
    ((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'::text))[1])::timestamp with time zone AS range_end,
    (c.relkind = 'p'::"char") AS by_retention
   FROM (pg_inherits i
     JOIN pg_class c ON ((c.oid = i.inhrelid)))
  WHERE (i.inhparent = ('public.platform_events'::regclass)::oid);
GRANT SELECT ON TABLE public.platform_event_months TO platform_events_pipeline;

-- view platform_event_partitions
-- created in 0002_partition_maintenance; replaced in 0062_partitions_by_retention
CREATE VIEW public.platform_event_partitions AS
 SELECT (c.relname)::text AS partition_name,
    pg_get_expr(c.relpartbound, c.oid) AS bounds,
    m.range_start,
    m.range_end,
    ((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']+)''\)'::text))[1])::interval AS retention,
    (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']+)''\)'::text))[1] AS retention_class,
    m.partition_name AS month_name
   FROM ((public.platform_event_months m
     JOIN pg_inherits i ON ((i.inhparent = ((m.partition_name)::regclass)::oid)))
     JOIN pg_class c ON ((c.oid = i.inhrelid)))
  WHERE m.by_retention;
COMMENT ON VIEW public.platform_event_partitions IS 'The leaves of platform_events: one month of received_at and one retention class each.';
GRANT SELECT ON TABLE public.platform_event_partitions TO platform_events_pipeline;

-- table platform_event_sink_health
-- created in 0050_durable_delivery_batches
CREATE TABLE public.platform_event_sink_health (
    warehouse text NOT NULL,
    state text DEFAULT 'ok'::text NOT NULL,
    last_error text,
    failing_since timestamp with time zone,
    last_failure_at timestamp with time zone,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    retry_at timestamp with time zone,
    recovered_at timestamp with time zone,
    CONSTRAINT platform_event_sink_health_consecutive_failures_check CHECK ((consecutive_failures >= 0)),
    CONSTRAINT platform_event_sink_health_state_check CHECK ((state = ANY (ARRAY['ok'::text, 'unavailable'::text, 'throttled'::text, 'misconfigured'::text]))),
    CONSTRAINT platform_event_sink_health_warehouse_check CHECK ((warehouse = ANY (ARRAY['duckdb'::text, 'bigquery'::text, 'redshift'::text])))
);
COMMENT ON TABLE public.platform_event_sink_health IS 'Per warehouse: whether streaming can write to it, and since when it cannot (pipeline_status shows it).';
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.platform_event_sink_health TO platform_events_pipeline;

-- table platform_events_dead_letter
-- created in 0041_ingest_dead_letter
CREATE TABLE public.platform_events_dead_letter (
    id bigint NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    source text NOT NULL,
    route text NOT NULL,
    reason_code text NOT NULL,
    reason_field text,
    reason text NOT NULL,
    message_id text,
    user_id text,
    anonymous_id text,
    message text NOT NULL,
    message_bytes integer NOT NULL,
    truncated boolean DEFAULT false NOT NULL,
    CONSTRAINT platform_events_dead_letter_anonymous_id_check CHECK ((length(anonymous_id) <= 255)),
    CONSTRAINT platform_events_dead_letter_message_bytes_check CHECK ((message_bytes >= 0)),
    CONSTRAINT platform_events_dead_letter_message_check CHECK ((octet_length(message) <= 33000)),
    CONSTRAINT platform_events_dead_letter_message_id_check CHECK ((length(message_id) <= 255)),
    CONSTRAINT platform_events_dead_letter_reason_check CHECK ((length(reason) <= 1000)),
    CONSTRAINT platform_events_dead_letter_reason_code_check CHECK ((length(reason_code) <= 64)),
    CONSTRAINT platform_events_dead_letter_reason_field_check CHECK ((length(reason_field) <= 255)),
    CONSTRAINT platform_events_dead_letter_route_check CHECK ((length(route) <= 20)),
    CONSTRAINT platform_events_dead_letter_source_check CHECK ((length(source) <= 64)),
    CONSTRAINT platform_events_dead_letter_user_id_check CHECK ((length(user_id) <= 255))
);
COMMENT ON TABLE public.platform_events_dead_letter IS 'Messages ingest_events rejected, with the reason and the write key id; purged after 30 days.';
GRANT SELECT,INSERT,DELETE ON TABLE public.platform_events_dead_letter TO platform_events_pipeline;

-- sequence platform_events_dead_letter_id_seq
ALTER TABLE public.platform_events_dead_letter ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.platform_events_dead_letter_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- table platform_events_default
-- created in 0001_event_store; replaced in 0062_partitions_by_retention
CREATE TABLE public.platform_events_default (
    event_id uuid DEFAULT gen_random_uuid() CONSTRAINT platform_events_event_id_not_null1 NOT NULL,
    event_type text CONSTRAINT platform_events_event_type_not_null1 NOT NULL,
    event_category text CONSTRAINT platform_events_event_category_not_null1 NOT NULL,
    schema_version integer CONSTRAINT platform_events_schema_version_not_null1 NOT NULL,
    user_id text,
    session_id text,
    occurred_at timestamp with time zone DEFAULT now() CONSTRAINT platform_events_occurred_at_not_null1 NOT NULL,
    received_at timestamp with time zone DEFAULT now() CONSTRAINT platform_events_received_at_not_null1 NOT NULL,
    event_data jsonb DEFAULT '{}'::jsonb CONSTRAINT platform_events_event_data_not_null1 NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb CONSTRAINT platform_events_metadata_not_null1 NOT NULL,
    retention_class text CONSTRAINT platform_events_retention_class_not_null NOT NULL
);

-- table platform_events_quarantine
-- created in 0032_ingest_quarantine
CREATE TABLE public.platform_events_quarantine (
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    source_name text,
    reason text NOT NULL,
    user_id text,
    session_id text,
    occurred_at timestamp with time zone,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    event_data jsonb DEFAULT '{}'::jsonb NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT platform_events_quarantine_event_data_check CHECK ((octet_length((event_data)::text) <= 32768)),
    CONSTRAINT platform_events_quarantine_event_type_check CHECK (((length(event_type) >= 1) AND (length(event_type) <= 255))),
    CONSTRAINT platform_events_quarantine_metadata_check CHECK ((octet_length((metadata)::text) <= 16384)),
    CONSTRAINT platform_events_quarantine_session_id_check CHECK ((length(session_id) <= 255)),
    CONSTRAINT platform_events_quarantine_source_name_check CHECK ((length(source_name) <= 1000)),
    CONSTRAINT platform_events_quarantine_user_id_check CHECK ((length(user_id) <= 255))
);
COMMENT ON TABLE public.platform_events_quarantine IS 'Ingested events of unknown types, with the reason; promoted once a schema exists, purged after 30 days.';
GRANT SELECT,INSERT,DELETE ON TABLE public.platform_events_quarantine TO platform_events_pipeline;
GRANT UPDATE(reason) ON TABLE public.platform_events_quarantine TO platform_events_pipeline;

-- view platform_events_retired_partitions
-- created in 0021_partition_retirement; replaced in 0062_partitions_by_retention
CREATE VIEW public.platform_events_retired_partitions AS
 SELECT (c.relname)::text AS table_name,
    ((to_date(m.m[1], 'YYYY_MM'::text))::timestamp without time zone AT TIME ZONE 'UTC'::text) AS range_start,
    ((to_date(m.m[1], 'YYYY_MM'::text) + '1 mon'::interval) AT TIME ZONE 'UTC'::text) AS range_end,
    m.m[2] AS retention_label
   FROM ((pg_class c
     JOIN pg_namespace n ON ((n.oid = c.relnamespace)))
     CROSS JOIN LATERAL regexp_match((c.relname)::text, '^platform_events_retired_([0-9]{4}_[0-9]{2})_r([0-9]+[ymds])$'::text) m(m))
  WHERE ((n.nspname = 'public'::name) AND (c.relkind = 'r'::"char") AND (NOT c.relispartition) AND (m.m IS NOT NULL));
GRANT SELECT ON TABLE public.platform_events_retired_partitions TO platform_events_pipeline;

-- view platform_events_with_status
-- created in 0001_event_store; replaced in 0062_partitions_by_retention; altered in 0006_roles_and_security
CREATE VIEW public.platform_events_with_status WITH (security_invoker='true') AS
 SELECT e.event_id,
    e.event_type,
    e.event_category,
    e.schema_version,
    e.user_id,
    e.session_id,
    e.occurred_at,
    e.received_at,
    e.received_at AS created_at,
    e.event_data,
    e.metadata,
    COALESCE(d.status, 'delivered'::text) AS processing_status,
    COALESCE(d.retry_count, 0) AS retry_count,
    d.next_attempt_at,
    d.claimed_at,
    d.last_error AS error_message,
    d.processed_at
   FROM (public.platform_events e
     LEFT JOIN public.platform_event_delivery d ON (((d.event_id = e.event_id) AND (d.received_at = e.received_at))));
GRANT SELECT ON TABLE public.platform_events_with_status TO platform_events_pipeline;

-- table platform_metrics_realtime
-- created in 0001_event_store
CREATE TABLE public.platform_metrics_realtime (
    metric_id bigint NOT NULL,
    metric_name text NOT NULL,
    dimensions jsonb DEFAULT '{}'::jsonb NOT NULL,
    metric_value double precision NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT platform_metrics_realtime_dimensions_check CHECK ((jsonb_typeof(dimensions) = 'object'::text)),
    CONSTRAINT platform_metrics_realtime_metric_name_check CHECK (((length(metric_name) >= 1) AND (length(metric_name) <= 200)))
);
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.platform_metrics_realtime TO platform_events_pipeline;
GRANT SELECT ON TABLE public.platform_metrics_realtime TO platform_events_analyst;

-- sequence platform_metrics_realtime_metric_id_seq
ALTER TABLE public.platform_metrics_realtime ALTER COLUMN metric_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.platform_metrics_realtime_metric_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- table schema_migrations
CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);
GRANT SELECT ON TABLE public.schema_migrations TO platform_events_pipeline;

-- table user_erasure_audit
-- created in 0022_user_erasure
CREATE TABLE public.user_erasure_audit (
    erasure_id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_key text NOT NULL,
    key_id text NOT NULL,
    source text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamp with time zone NOT NULL,
    completed_at timestamp with time zone DEFAULT now() NOT NULL,
    postgres_events bigint NOT NULL,
    quarantine_events bigint NOT NULL,
    warehouse text NOT NULL,
    warehouse_events bigint NOT NULL,
    CONSTRAINT user_erasure_audit_key_id_check CHECK (((length(key_id) >= 1) AND (length(key_id) <= 64))),
    CONSTRAINT user_erasure_audit_postgres_events_check CHECK ((postgres_events >= 0)),
    CONSTRAINT user_erasure_audit_quarantine_events_check CHECK ((quarantine_events >= 0)),
    CONSTRAINT user_erasure_audit_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 200))),
    CONSTRAINT user_erasure_audit_source_check CHECK ((source = ANY (ARRAY['api'::text, 'cli'::text, 'trigger'::text]))),
    CONSTRAINT user_erasure_audit_user_key_check CHECK ((user_key ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT user_erasure_audit_warehouse_events_check CHECK ((warehouse_events >= 0))
);
COMMENT ON TABLE public.user_erasure_audit IS 'One row per completed GDPR erasure; user_key is HMAC-SHA256(ERASURE_AUDIT_KEY, user_id), never the id.';
GRANT SELECT,INSERT ON TABLE public.user_erasure_audit TO platform_events_pipeline;

-- table user_erasure_queue
-- created in 0022_user_erasure
CREATE TABLE public.user_erasure_queue (
    user_id text NOT NULL,
    source text DEFAULT 'trigger'::text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    CONSTRAINT user_erasure_queue_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT user_erasure_queue_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 200))),
    CONSTRAINT user_erasure_queue_source_check CHECK ((source = ANY (ARRAY['api'::text, 'cli'::text, 'trigger'::text]))),
    CONSTRAINT user_erasure_queue_user_id_check CHECK (((length(user_id) >= 1) AND (length(user_id) <= 255)))
);
COMMENT ON TABLE public.user_erasure_queue IS 'Users whose erasure is due (filled by the users-table trigger); emptied by the erase_user job.';
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.user_erasure_queue TO platform_events_pipeline;

-- table warehouse_sync_status
-- created in 0001_event_store; altered in 0050_durable_delivery_batches
CREATE TABLE public.warehouse_sync_status (
    sync_id uuid DEFAULT gen_random_uuid() NOT NULL,
    warehouse_type text NOT NULL,
    batch_start timestamp with time zone,
    batch_end timestamp with time zone,
    events_synced integer DEFAULT 0 NOT NULL,
    events_failed integer DEFAULT 0 NOT NULL,
    sync_duration_ms integer,
    status text DEFAULT 'running'::text NOT NULL,
    error_message text,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    batch_id uuid,
    CONSTRAINT warehouse_sync_status_events_failed_check CHECK ((events_failed >= 0)),
    CONSTRAINT warehouse_sync_status_events_synced_check CHECK ((events_synced >= 0)),
    CONSTRAINT warehouse_sync_status_status_check CHECK ((status = ANY (ARRAY['running'::text, 'success'::text, 'partial'::text, 'failed'::text]))),
    CONSTRAINT warehouse_sync_status_sync_duration_ms_check CHECK ((sync_duration_ms >= 0)),
    CONSTRAINT warehouse_sync_status_warehouse_type_check CHECK ((warehouse_type = ANY (ARRAY['duckdb'::text, 'bigquery'::text, 'redshift'::text])))
);
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.warehouse_sync_status TO platform_events_pipeline;

-- ================================================================================================
-- Partitions
-- ================================================================================================

-- table attach platform_event_delivery_held
ALTER TABLE ONLY public.platform_event_delivery ATTACH PARTITION public.platform_event_delivery_held FOR VALUES IN ('3');

-- table attach platform_event_delivery_slot_0
ALTER TABLE ONLY public.platform_event_delivery ATTACH PARTITION public.platform_event_delivery_slot_0 FOR VALUES IN ('0');

-- table attach platform_event_delivery_slot_1
ALTER TABLE ONLY public.platform_event_delivery ATTACH PARTITION public.platform_event_delivery_slot_1 FOR VALUES IN ('1');

-- table attach platform_event_delivery_slot_2
ALTER TABLE ONLY public.platform_event_delivery ATTACH PARTITION public.platform_event_delivery_slot_2 FOR VALUES IN ('2');

-- table attach platform_events_default
ALTER TABLE ONLY public.platform_events ATTACH PARTITION public.platform_events_default DEFAULT;

-- ================================================================================================
-- Constraints
-- ================================================================================================

-- constraint event_aggregations event_aggregations_bucket_start_granularity_event_type_key
ALTER TABLE ONLY public.event_aggregations
    ADD CONSTRAINT event_aggregations_bucket_start_granularity_event_type_key UNIQUE (bucket_start, granularity, event_type);

-- constraint event_aggregations event_aggregations_pkey
ALTER TABLE ONLY public.event_aggregations
    ADD CONSTRAINT event_aggregations_pkey PRIMARY KEY (aggregation_id);

-- constraint event_schemas event_schemas_pkey
ALTER TABLE ONLY public.event_schemas
    ADD CONSTRAINT event_schemas_pkey PRIMARY KEY (event_type, version);

-- constraint platform_event_delivery_batches platform_event_delivery_batches_pkey
ALTER TABLE ONLY public.platform_event_delivery_batches
    ADD CONSTRAINT platform_event_delivery_batches_pkey PRIMARY KEY (batch_id);

-- constraint platform_event_delivery platform_event_delivery_pkey
ALTER TABLE ONLY public.platform_event_delivery
    ADD CONSTRAINT platform_event_delivery_pkey PRIMARY KEY (event_id, ledger_slot);

-- constraint platform_event_delivery_held platform_event_delivery_held_pkey
ALTER TABLE ONLY public.platform_event_delivery_held
    ADD CONSTRAINT platform_event_delivery_held_pkey PRIMARY KEY (event_id, ledger_slot);

-- constraint platform_event_delivery_slot_0 platform_event_delivery_slot_0_pkey
ALTER TABLE ONLY public.platform_event_delivery_slot_0
    ADD CONSTRAINT platform_event_delivery_slot_0_pkey PRIMARY KEY (event_id, ledger_slot);

-- constraint platform_event_delivery_slot_1 platform_event_delivery_slot_1_pkey
ALTER TABLE ONLY public.platform_event_delivery_slot_1
    ADD CONSTRAINT platform_event_delivery_slot_1_pkey PRIMARY KEY (event_id, ledger_slot);

-- constraint platform_event_delivery_slot_2 platform_event_delivery_slot_2_pkey
ALTER TABLE ONLY public.platform_event_delivery_slot_2
    ADD CONSTRAINT platform_event_delivery_slot_2_pkey PRIMARY KEY (event_id, ledger_slot);

-- constraint platform_event_rules platform_event_rules_pkey
ALTER TABLE ONLY public.platform_event_rules
    ADD CONSTRAINT platform_event_rules_pkey PRIMARY KEY (event_type, version, key);

-- constraint platform_event_sink_health platform_event_sink_health_pkey
ALTER TABLE ONLY public.platform_event_sink_health
    ADD CONSTRAINT platform_event_sink_health_pkey PRIMARY KEY (warehouse);

-- constraint platform_events_dead_letter platform_events_dead_letter_pkey
ALTER TABLE ONLY public.platform_events_dead_letter
    ADD CONSTRAINT platform_events_dead_letter_pkey PRIMARY KEY (id);

-- constraint platform_events platform_events_pkey
ALTER TABLE ONLY public.platform_events
    ADD CONSTRAINT platform_events_pkey PRIMARY KEY (event_id, received_at, retention_class);

-- constraint platform_events_default platform_events_default_pkey
ALTER TABLE ONLY public.platform_events_default
    ADD CONSTRAINT platform_events_default_pkey PRIMARY KEY (event_id, received_at, retention_class);

-- constraint platform_events_quarantine platform_events_quarantine_pkey
ALTER TABLE ONLY public.platform_events_quarantine
    ADD CONSTRAINT platform_events_quarantine_pkey PRIMARY KEY (event_id);

-- constraint platform_metrics_realtime platform_metrics_realtime_metric_name_dimensions_key
ALTER TABLE ONLY public.platform_metrics_realtime
    ADD CONSTRAINT platform_metrics_realtime_metric_name_dimensions_key UNIQUE (metric_name, dimensions);

-- constraint platform_metrics_realtime platform_metrics_realtime_pkey
ALTER TABLE ONLY public.platform_metrics_realtime
    ADD CONSTRAINT platform_metrics_realtime_pkey PRIMARY KEY (metric_id);

-- constraint schema_migrations schema_migrations_pkey
ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

-- constraint user_erasure_audit user_erasure_audit_pkey
ALTER TABLE ONLY public.user_erasure_audit
    ADD CONSTRAINT user_erasure_audit_pkey PRIMARY KEY (erasure_id);

-- constraint user_erasure_queue user_erasure_queue_pkey
ALTER TABLE ONLY public.user_erasure_queue
    ADD CONSTRAINT user_erasure_queue_pkey PRIMARY KEY (user_id);

-- constraint warehouse_sync_status warehouse_sync_status_pkey
ALTER TABLE ONLY public.warehouse_sync_status
    ADD CONSTRAINT warehouse_sync_status_pkey PRIMARY KEY (sync_id);

-- ================================================================================================
-- Indexes
-- ================================================================================================

-- index event_aggregations_type_idx
CREATE INDEX event_aggregations_type_idx ON public.event_aggregations USING btree (event_type, granularity, bucket_start);

-- index platform_event_delivery_batches_lease_idx
CREATE INDEX platform_event_delivery_batches_lease_idx ON public.platform_event_delivery_batches USING btree (lease_expires_at);

-- index platform_event_delivery_claimed_idx
CREATE INDEX platform_event_delivery_claimed_idx ON ONLY public.platform_event_delivery USING btree (claimed_at) WHERE ((claimed_at IS NOT NULL) AND (batch_id IS NULL));

-- index platform_event_delivery_due_idx
CREATE INDEX platform_event_delivery_due_idx ON ONLY public.platform_event_delivery USING btree (next_attempt_at) WHERE (status = 'pending'::text);

-- index platform_event_delivery_failed_idx
CREATE INDEX platform_event_delivery_failed_idx ON ONLY public.platform_event_delivery USING btree (event_type) WHERE (status = 'failed'::text);

-- index platform_event_delivery_held_claimed_at_idx
CREATE INDEX platform_event_delivery_held_claimed_at_idx ON public.platform_event_delivery_held USING btree (claimed_at) WHERE ((claimed_at IS NOT NULL) AND (batch_id IS NULL));

-- index platform_event_delivery_held_event_type_idx
CREATE INDEX platform_event_delivery_held_event_type_idx ON public.platform_event_delivery_held USING btree (event_type) WHERE (status = 'failed'::text);

-- index platform_event_delivery_held_next_attempt_at_idx
CREATE INDEX platform_event_delivery_held_next_attempt_at_idx ON public.platform_event_delivery_held USING btree (next_attempt_at) WHERE (status = 'pending'::text);

-- index platform_event_delivery_undelivered_idx
CREATE INDEX platform_event_delivery_undelivered_idx ON ONLY public.platform_event_delivery USING btree (received_at) WHERE (status <> 'delivered'::text);

-- index platform_event_delivery_held_received_at_idx
CREATE INDEX platform_event_delivery_held_received_at_idx ON public.platform_event_delivery_held USING btree (received_at) WHERE (status <> 'delivered'::text);

-- index platform_event_delivery_slot_0_claimed_at_idx
CREATE INDEX platform_event_delivery_slot_0_claimed_at_idx ON public.platform_event_delivery_slot_0 USING btree (claimed_at) WHERE ((claimed_at IS NOT NULL) AND (batch_id IS NULL));

-- index platform_event_delivery_slot_0_event_type_idx
CREATE INDEX platform_event_delivery_slot_0_event_type_idx ON public.platform_event_delivery_slot_0 USING btree (event_type) WHERE (status = 'failed'::text);

-- index platform_event_delivery_slot_0_next_attempt_at_idx
CREATE INDEX platform_event_delivery_slot_0_next_attempt_at_idx ON public.platform_event_delivery_slot_0 USING btree (next_attempt_at) WHERE (status = 'pending'::text);

-- index platform_event_delivery_slot_0_received_at_idx
CREATE INDEX platform_event_delivery_slot_0_received_at_idx ON public.platform_event_delivery_slot_0 USING btree (received_at) WHERE (status <> 'delivered'::text);

-- index platform_event_delivery_slot_1_claimed_at_idx
CREATE INDEX platform_event_delivery_slot_1_claimed_at_idx ON public.platform_event_delivery_slot_1 USING btree (claimed_at) WHERE ((claimed_at IS NOT NULL) AND (batch_id IS NULL));

-- index platform_event_delivery_slot_1_event_type_idx
CREATE INDEX platform_event_delivery_slot_1_event_type_idx ON public.platform_event_delivery_slot_1 USING btree (event_type) WHERE (status = 'failed'::text);

-- index platform_event_delivery_slot_1_next_attempt_at_idx
CREATE INDEX platform_event_delivery_slot_1_next_attempt_at_idx ON public.platform_event_delivery_slot_1 USING btree (next_attempt_at) WHERE (status = 'pending'::text);

-- index platform_event_delivery_slot_1_received_at_idx
CREATE INDEX platform_event_delivery_slot_1_received_at_idx ON public.platform_event_delivery_slot_1 USING btree (received_at) WHERE (status <> 'delivered'::text);

-- index platform_event_delivery_slot_2_claimed_at_idx
CREATE INDEX platform_event_delivery_slot_2_claimed_at_idx ON public.platform_event_delivery_slot_2 USING btree (claimed_at) WHERE ((claimed_at IS NOT NULL) AND (batch_id IS NULL));

-- index platform_event_delivery_slot_2_event_type_idx
CREATE INDEX platform_event_delivery_slot_2_event_type_idx ON public.platform_event_delivery_slot_2 USING btree (event_type) WHERE (status = 'failed'::text);

-- index platform_event_delivery_slot_2_next_attempt_at_idx
CREATE INDEX platform_event_delivery_slot_2_next_attempt_at_idx ON public.platform_event_delivery_slot_2 USING btree (next_attempt_at) WHERE (status = 'pending'::text);

-- index platform_event_delivery_slot_2_received_at_idx
CREATE INDEX platform_event_delivery_slot_2_received_at_idx ON public.platform_event_delivery_slot_2 USING btree (received_at) WHERE (status <> 'delivered'::text);

-- index platform_events_dead_letter_anonymous_idx
CREATE INDEX platform_events_dead_letter_anonymous_idx ON public.platform_events_dead_letter USING btree (anonymous_id) WHERE (anonymous_id IS NOT NULL);

-- index platform_events_dead_letter_reason_idx
CREATE INDEX platform_events_dead_letter_reason_idx ON public.platform_events_dead_letter USING btree (reason_code, received_at);

-- index platform_events_dead_letter_received_idx
CREATE INDEX platform_events_dead_letter_received_idx ON public.platform_events_dead_letter USING btree (received_at);

-- index platform_events_dead_letter_user_idx
CREATE INDEX platform_events_dead_letter_user_idx ON public.platform_events_dead_letter USING btree (user_id) WHERE (user_id IS NOT NULL);

-- index platform_events_event_data_idx
CREATE INDEX platform_events_event_data_idx ON ONLY public.platform_events USING gin (event_data jsonb_path_ops);

-- index platform_events_default_event_data_idx
CREATE INDEX platform_events_default_event_data_idx ON public.platform_events_default USING gin (event_data jsonb_path_ops);

-- index platform_events_type_idx
CREATE INDEX platform_events_type_idx ON ONLY public.platform_events USING btree (event_type, occurred_at);

-- index platform_events_default_event_type_occurred_at_idx
CREATE INDEX platform_events_default_event_type_occurred_at_idx ON public.platform_events_default USING btree (event_type, occurred_at);

-- index platform_events_occurred_at_idx
CREATE INDEX platform_events_occurred_at_idx ON ONLY public.platform_events USING btree (occurred_at);

-- index platform_events_default_occurred_at_idx
CREATE INDEX platform_events_default_occurred_at_idx ON public.platform_events_default USING btree (occurred_at);

-- index platform_events_received_at_brin
CREATE INDEX platform_events_received_at_brin ON ONLY public.platform_events USING brin (received_at) WITH (pages_per_range='32', autosummarize='on');

-- index platform_events_default_received_at_idx
CREATE INDEX platform_events_default_received_at_idx ON public.platform_events_default USING brin (received_at) WITH (pages_per_range='32', autosummarize='on');

-- index platform_events_session_idx
CREATE INDEX platform_events_session_idx ON ONLY public.platform_events USING btree (session_id, occurred_at, event_id) WHERE (session_id IS NOT NULL);

-- index platform_events_default_session_id_occurred_at_event_id_idx
CREATE INDEX platform_events_default_session_id_occurred_at_event_id_idx ON public.platform_events_default USING btree (session_id, occurred_at, event_id) WHERE (session_id IS NOT NULL);

-- index platform_events_user_idx
CREATE INDEX platform_events_user_idx ON ONLY public.platform_events USING btree (user_id, occurred_at) WHERE (user_id IS NOT NULL);

-- index platform_events_default_user_id_occurred_at_idx
CREATE INDEX platform_events_default_user_id_occurred_at_idx ON public.platform_events_default USING btree (user_id, occurred_at) WHERE (user_id IS NOT NULL);

-- index platform_events_quarantine_received_idx
CREATE INDEX platform_events_quarantine_received_idx ON public.platform_events_quarantine USING btree (received_at);

-- index platform_events_quarantine_type_idx
CREATE INDEX platform_events_quarantine_type_idx ON public.platform_events_quarantine USING btree (event_type, received_at);

-- index platform_events_quarantine_user_idx
CREATE INDEX platform_events_quarantine_user_idx ON public.platform_events_quarantine USING btree (user_id) WHERE (user_id IS NOT NULL);

-- index platform_metrics_realtime_expires_idx
CREATE INDEX platform_metrics_realtime_expires_idx ON public.platform_metrics_realtime USING btree (expires_at);

-- index user_erasure_audit_user_key_idx
CREATE INDEX user_erasure_audit_user_key_idx ON public.user_erasure_audit USING btree (user_key);

-- index user_erasure_queue_due_idx
CREATE INDEX user_erasure_queue_due_idx ON public.user_erasure_queue USING btree (next_attempt_at);

-- index warehouse_sync_status_started_idx
CREATE INDEX warehouse_sync_status_started_idx ON public.warehouse_sync_status USING btree (started_at);

-- index warehouse_sync_status_warehouse_idx
CREATE INDEX warehouse_sync_status_warehouse_idx ON public.warehouse_sync_status USING btree (warehouse_type, started_at);

-- ================================================================================================
-- Indexes of partitions
-- ================================================================================================

-- index attach platform_event_delivery_held_claimed_at_idx
ALTER INDEX public.platform_event_delivery_claimed_idx ATTACH PARTITION public.platform_event_delivery_held_claimed_at_idx;

-- index attach platform_event_delivery_held_event_type_idx
ALTER INDEX public.platform_event_delivery_failed_idx ATTACH PARTITION public.platform_event_delivery_held_event_type_idx;

-- index attach platform_event_delivery_held_next_attempt_at_idx
ALTER INDEX public.platform_event_delivery_due_idx ATTACH PARTITION public.platform_event_delivery_held_next_attempt_at_idx;

-- index attach platform_event_delivery_held_pkey
ALTER INDEX public.platform_event_delivery_pkey ATTACH PARTITION public.platform_event_delivery_held_pkey;

-- index attach platform_event_delivery_held_received_at_idx
ALTER INDEX public.platform_event_delivery_undelivered_idx ATTACH PARTITION public.platform_event_delivery_held_received_at_idx;

-- index attach platform_event_delivery_slot_0_claimed_at_idx
ALTER INDEX public.platform_event_delivery_claimed_idx ATTACH PARTITION public.platform_event_delivery_slot_0_claimed_at_idx;

-- index attach platform_event_delivery_slot_0_event_type_idx
ALTER INDEX public.platform_event_delivery_failed_idx ATTACH PARTITION public.platform_event_delivery_slot_0_event_type_idx;

-- index attach platform_event_delivery_slot_0_next_attempt_at_idx
ALTER INDEX public.platform_event_delivery_due_idx ATTACH PARTITION public.platform_event_delivery_slot_0_next_attempt_at_idx;

-- index attach platform_event_delivery_slot_0_pkey
ALTER INDEX public.platform_event_delivery_pkey ATTACH PARTITION public.platform_event_delivery_slot_0_pkey;

-- index attach platform_event_delivery_slot_0_received_at_idx
ALTER INDEX public.platform_event_delivery_undelivered_idx ATTACH PARTITION public.platform_event_delivery_slot_0_received_at_idx;

-- index attach platform_event_delivery_slot_1_claimed_at_idx
ALTER INDEX public.platform_event_delivery_claimed_idx ATTACH PARTITION public.platform_event_delivery_slot_1_claimed_at_idx;

-- index attach platform_event_delivery_slot_1_event_type_idx
ALTER INDEX public.platform_event_delivery_failed_idx ATTACH PARTITION public.platform_event_delivery_slot_1_event_type_idx;

-- index attach platform_event_delivery_slot_1_next_attempt_at_idx
ALTER INDEX public.platform_event_delivery_due_idx ATTACH PARTITION public.platform_event_delivery_slot_1_next_attempt_at_idx;

-- index attach platform_event_delivery_slot_1_pkey
ALTER INDEX public.platform_event_delivery_pkey ATTACH PARTITION public.platform_event_delivery_slot_1_pkey;

-- index attach platform_event_delivery_slot_1_received_at_idx
ALTER INDEX public.platform_event_delivery_undelivered_idx ATTACH PARTITION public.platform_event_delivery_slot_1_received_at_idx;

-- index attach platform_event_delivery_slot_2_claimed_at_idx
ALTER INDEX public.platform_event_delivery_claimed_idx ATTACH PARTITION public.platform_event_delivery_slot_2_claimed_at_idx;

-- index attach platform_event_delivery_slot_2_event_type_idx
ALTER INDEX public.platform_event_delivery_failed_idx ATTACH PARTITION public.platform_event_delivery_slot_2_event_type_idx;

-- index attach platform_event_delivery_slot_2_next_attempt_at_idx
ALTER INDEX public.platform_event_delivery_due_idx ATTACH PARTITION public.platform_event_delivery_slot_2_next_attempt_at_idx;

-- index attach platform_event_delivery_slot_2_pkey
ALTER INDEX public.platform_event_delivery_pkey ATTACH PARTITION public.platform_event_delivery_slot_2_pkey;

-- index attach platform_event_delivery_slot_2_received_at_idx
ALTER INDEX public.platform_event_delivery_undelivered_idx ATTACH PARTITION public.platform_event_delivery_slot_2_received_at_idx;

-- index attach platform_events_default_event_data_idx
ALTER INDEX public.platform_events_event_data_idx ATTACH PARTITION public.platform_events_default_event_data_idx;

-- index attach platform_events_default_event_type_occurred_at_idx
ALTER INDEX public.platform_events_type_idx ATTACH PARTITION public.platform_events_default_event_type_occurred_at_idx;

-- index attach platform_events_default_occurred_at_idx
ALTER INDEX public.platform_events_occurred_at_idx ATTACH PARTITION public.platform_events_default_occurred_at_idx;

-- index attach platform_events_default_pkey
ALTER INDEX public.platform_events_pkey ATTACH PARTITION public.platform_events_default_pkey;

-- index attach platform_events_default_received_at_idx
ALTER INDEX public.platform_events_received_at_brin ATTACH PARTITION public.platform_events_default_received_at_idx;

-- index attach platform_events_default_session_id_occurred_at_event_id_idx
ALTER INDEX public.platform_events_session_idx ATTACH PARTITION public.platform_events_default_session_id_occurred_at_event_id_idx;

-- index attach platform_events_default_user_id_occurred_at_idx
ALTER INDEX public.platform_events_user_idx ATTACH PARTITION public.platform_events_default_user_id_occurred_at_idx;

-- ================================================================================================
-- Triggers
-- ================================================================================================

-- trigger event_schemas event_schemas_keep_rules
CREATE TRIGGER event_schemas_keep_rules AFTER INSERT OR UPDATE OF event_type, version, json_schema ON public.event_schemas FOR EACH ROW EXECUTE FUNCTION public.platform_events_keep_rules();

-- trigger event_schemas event_schemas_retention_leaves
CREATE TRIGGER event_schemas_retention_leaves AFTER INSERT OR UPDATE OF retention ON public.event_schemas FOR EACH ROW EXECUTE FUNCTION public.platform_events_leaves_for_retention();

-- trigger platform_events platform_events_fence_in_flight
CREATE TRIGGER platform_events_fence_in_flight AFTER UPDATE ON public.platform_events REFERENCING NEW TABLE AS platform_events_changed FOR EACH STATEMENT EXECUTE FUNCTION public.platform_events_fence_changed_batches();

-- ================================================================================================
-- Foreign keys
-- ================================================================================================

-- fk constraint platform_event_rules platform_event_rules_event_type_version_fkey
ALTER TABLE ONLY public.platform_event_rules
    ADD CONSTRAINT platform_event_rules_event_type_version_fkey FOREIGN KEY (event_type, version) REFERENCES public.event_schemas(event_type, version) ON UPDATE CASCADE ON DELETE CASCADE;

-- ================================================================================================
-- Row-level security
-- ================================================================================================

-- policy platform_events app_reads_own_events
CREATE POLICY app_reads_own_events ON public.platform_events FOR SELECT TO platform_events_app USING (((user_id IS NOT NULL) AND (user_id = NULLIF(current_setting('platform_events.user_id'::text, true), ''::text))));

-- policy platform_event_delivery pipeline_manages_delivery
CREATE POLICY pipeline_manages_delivery ON public.platform_event_delivery TO platform_events_pipeline USING (true) WITH CHECK (true);

-- policy platform_events pipeline_manages_events
CREATE POLICY pipeline_manages_events ON public.platform_events TO platform_events_pipeline USING (true) WITH CHECK (true);

-- row security platform_event_delivery
ALTER TABLE public.platform_event_delivery ENABLE ROW LEVEL SECURITY;

-- row security platform_events
ALTER TABLE public.platform_events ENABLE ROW LEVEL SECURITY;

-- ================================================================================================
-- Privileges
-- ================================================================================================

-- acl SCHEMA public
GRANT USAGE ON SCHEMA public TO platform_events_app;
GRANT USAGE ON SCHEMA public TO platform_events_ingest;
GRANT USAGE ON SCHEMA public TO platform_events_pipeline;
GRANT USAGE ON SCHEMA public TO platform_events_analyst;

-- ================================================================================================
-- Default privileges
-- ================================================================================================

-- default acl DEFAULT PRIVILEGES FOR FUNCTIONS
ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM PUBLIC;

-- ================================================================================================
-- Seed rows, monthly partitions, migration records
-- ================================================================================================

-- What the migrations inserted (the event catalogue).
INSERT INTO public.event_schemas (event_type, version, category, json_schema, retention, is_active, description, owner, revision) VALUES
    ('filter.applied', '1', 'interaction', '{"type": "object", "title": "filter.applied", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["filter_name", "filter_value"], "properties": {"filter_name": {"type": "string", "description": "Filter"}, "filter_value": {"type": "string", "description": "Value chosen"}}, "additionalProperties": true}', '1 year', 'true', 'A search filter was applied.', 'marketplace', '0'),
    ('message.sent', '1', 'interaction', '{"type": "object", "title": "message.sent", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["message_id", "conversation_id"], "properties": {"length": {"type": "integer", "minimum": 0, "description": "Length in characters"}, "message_id": {"type": "string", "description": "Message id"}, "recipient_id": {"type": "string", "description": "The recipient", "x-user-reference": true}, "conversation_id": {"type": "string", "description": "Conversation id"}}, "additionalProperties": true}', '1 year', 'true', 'A direct message was sent (content never stored).', 'marketplace', '0'),
    ('mfa.enabled', '1', 'user_activity', '{"type": "object", "title": "mfa.enabled", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["method"], "properties": {"method": {"enum": ["totp", "sms", "webauthn"], "type": "string", "description": "Factor kind"}}, "additionalProperties": true}', '2 years', 'true', 'A user enabled a second factor.', 'identity', '0'),
    ('milestone.approved', '1', 'transaction', '{"type": "object", "title": "milestone.approved", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["milestone_id", "project_id", "amount"], "properties": {"amount": {"type": "number", "minimum": 0, "description": "Amount released"}, "currency": {"type": "string", "maxLength": 3, "description": "ISO 4217 code"}, "project_id": {"type": "string", "description": "Project id"}, "milestone_id": {"type": "string", "description": "Milestone id"}, "freelancer_id": {"type": "string", "description": "Who is paid", "x-user-reference": true}}, "additionalProperties": true}', '7 years', 'true', 'A client approved a milestone; funds are released.', 'payments', '0'),
    ('notification.clicked', '1', 'interaction', '{"type": "object", "title": "notification.clicked", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["notification_id", "notification_type"], "properties": {"channel": {"enum": ["email", "push", "in_app", "sms"], "type": "string", "description": "Delivery channel"}, "notification_id": {"type": "string", "description": "Notification id"}, "notification_type": {"type": "string", "description": "Kind of notification"}}, "additionalProperties": true}', '1 year', 'true', 'A notification was opened.', 'marketplace', '0'),
    ('page.viewed', '1', 'interaction', '{"type": "object", "title": "page.viewed", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["path"], "properties": {"url": {"type": "string", "maxLength": 2000, "x-personal": true, "description": "Full URL (may carry personal data)"}, "name": {"type": "string", "maxLength": 500, "description": "Page name given by the caller"}, "path": {"type": "string", "maxLength": 2000, "description": "Path of the page"}, "title": {"type": "string", "maxLength": 500, "description": "Document title"}, "referrer": {"type": "string", "maxLength": 2000, "x-personal": true, "description": "Referring URL"}}, "additionalProperties": true}', '1 year', 'true', 'A page was viewed (Segment page).', 'marketplace', '0'),
    ('password.changed', '1', 'user_activity', '{"type": "object", "title": "password.changed", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": [], "properties": {"method": {"enum": ["settings", "reset"], "type": "string", "description": "How"}}, "additionalProperties": true}', '2 years', 'true', 'A user changed their password.', 'identity', '0'),
    ('payment.completed', '1', 'transaction', '{"type": "object", "title": "payment.completed", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["payment_id", "amount", "currency"], "properties": {"fee": {"type": "number", "minimum": 0, "description": "Platform fee"}, "amount": {"type": "number", "minimum": 0, "description": "Amount"}, "currency": {"type": "string", "maxLength": 3, "description": "ISO 4217 code"}, "payment_id": {"type": "string", "description": "Payment id"}, "project_id": {"type": "string", "description": "Project paid for"}}, "additionalProperties": true}', '7 years', 'true', 'A payment settled.', 'payments', '0'),
    ('payment.initiated', '1', 'transaction', '{"type": "object", "title": "payment.initiated", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["payment_id", "amount", "currency"], "properties": {"amount": {"type": "number", "minimum": 0, "description": "Amount"}, "method": {"enum": ["card", "bank_transfer", "paypal", "wallet"], "type": "string", "description": "Payment method"}, "currency": {"type": "string", "maxLength": 3, "description": "ISO 4217 code"}, "payment_id": {"type": "string", "description": "Payment id"}, "project_id": {"type": "string", "description": "Project paid for"}}, "additionalProperties": true}', '7 years', 'true', 'A payment was started.', 'payments', '0'),
    ('portfolio.created', '1', 'content', '{"type": "object", "title": "portfolio.created", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["portfolio_id", "title"], "properties": {"title": {"type": "string", "maxLength": 500, "description": "Title"}, "media_count": {"type": "integer", "minimum": 0, "description": "Attached media"}, "portfolio_id": {"type": "string", "description": "Portfolio item id"}}, "additionalProperties": true}', '7 years', 'true', 'A freelancer published a portfolio item.', 'marketplace', '0'),
    ('profile.updated', '1', 'content', '{"type": "object", "title": "profile.updated", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["fields_changed"], "properties": {"fields_changed": {"type": "array", "description": "Names of the changed fields"}}, "additionalProperties": true}', '7 years', 'true', 'A user changed their profile.', 'marketplace', '0'),
    ('profile.viewed', '1', 'interaction', '{"type": "object", "title": "profile.viewed", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["profile_id"], "properties": {"source": {"enum": ["search", "proposal", "direct", "recommendation"], "type": "string", "description": "Where the view came from"}, "profile_id": {"type": "string", "description": "The profile''s user", "x-user-reference": true}}, "additionalProperties": true}', '1 year', 'true', 'Someone viewed a profile.', 'marketplace', '0'),
    ('project.created', '1', 'transaction', '{"type": "object", "title": "project.created", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["project_id", "title", "budget"], "properties": {"title": {"type": "string", "maxLength": 500, "description": "Project title"}, "budget": {"type": "number", "minimum": 0, "description": "Budget amount"}, "skills": {"type": "array", "description": "Required skills"}, "category": {"type": "string", "description": "Marketplace category"}, "currency": {"type": "string", "maxLength": 3, "description": "ISO 4217 code"}, "project_id": {"type": "string", "description": "Project id"}}, "additionalProperties": true}', '7 years', 'true', 'A client posted a project.', 'payments', '0'),
    ('proposal.submitted', '1', 'transaction', '{"type": "object", "title": "proposal.submitted", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["proposal_id", "project_id", "bid_amount"], "properties": {"currency": {"type": "string", "maxLength": 3, "description": "ISO 4217 code"}, "client_id": {"type": "string", "description": "The project''s client", "x-user-reference": true}, "bid_amount": {"type": "number", "minimum": 0, "description": "Amount bid"}, "project_id": {"type": "string", "description": "Project id"}, "proposal_id": {"type": "string", "description": "Proposal id"}, "delivery_days": {"type": "integer", "minimum": 0, "description": "Proposed delivery time in days"}}, "additionalProperties": true}', '7 years', 'true', 'A freelancer bid on a project.', 'payments', '0'),
    ('review.posted', '1', 'content', '{"type": "object", "title": "review.posted", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["review_id", "project_id", "rating"], "properties": {"rating": {"type": "integer", "maximum": 5, "minimum": 1, "description": "Stars, 1 to 5"}, "comment": {"type": "string", "maxLength": 5000, "x-personal": true, "description": "Review text"}, "review_id": {"type": "string", "description": "Review id"}, "project_id": {"type": "string", "description": "Project reviewed"}, "reviewee_id": {"type": "string", "description": "Who is reviewed", "x-user-reference": true}}, "additionalProperties": true}', '7 years', 'true', 'A review was published.', 'marketplace', '0'),
    ('search.performed', '1', 'interaction', '{"type": "object", "title": "search.performed", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["query", "results_count"], "properties": {"query": {"type": "string", "maxLength": 1000, "x-personal": true, "description": "The search text (may hold personal data)"}, "filters": {"type": "object", "description": "Filters in effect"}, "results_count": {"type": "integer", "minimum": 0, "description": "Number of results"}, "search_time_ms": {"type": "number", "minimum": 0, "description": "Server time to answer"}}, "additionalProperties": true}', '1 year', 'true', 'A marketplace search.', 'marketplace', '0'),
    ('session.started', '1', 'user_activity', '{"type": "object", "title": "session.started", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": [], "properties": {"referrer": {"type": "string", "maxLength": 2000, "x-personal": true, "description": "Referring URL"}, "landing_page": {"type": "string", "maxLength": 2000, "description": "First page"}}, "additionalProperties": true}', '2 years', 'true', 'A new client session began.', 'identity', '0'),
    ('user.identified', '1', 'user_activity', '{"type": "object", "title": "user.identified", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": [], "properties": {"traits": {"type": "object", "x-personal": true, "description": "Traits sent with identify"}}, "additionalProperties": true}', '2 years', 'true', 'A user was identified (Segment identify); traits may hold personal data.', 'identity', '0'),
    ('user.login', '1', 'user_activity', '{"type": "object", "title": "user.login", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": ["method"], "properties": {"method": {"enum": ["password", "oauth", "sso", "magic_link"], "type": "string", "description": "Authentication method"}, "success": {"type": "boolean", "description": "Whether the attempt succeeded"}, "mfa_used": {"type": "boolean", "description": "Whether a second factor was used"}}, "additionalProperties": true}', '2 years', 'true', 'A user signed in.', 'identity', '0'),
    ('user.logout', '1', 'user_activity', '{"type": "object", "title": "user.logout", "$schema": "https://json-schema.org/draft/2020-12/schema", "required": [], "properties": {"reason": {"enum": ["user", "timeout", "revoked"], "type": "string", "description": "Why"}}, "additionalProperties": true}', '2 years', 'true', 'A user signed out.', 'identity', '0');

-- The months around today, as 0002 created them when migrating (later months are
-- created by the scheduled jobs).
SELECT count(*) FROM public.ensure_platform_event_partitions(3, 1);

-- The migrations this file stands for, with the checksums `migrate` compares.
INSERT INTO public.schema_migrations (version, name, checksum) VALUES
    ('0001', 'event_store', '6519e6a811c0729c55ebee0907f314d97d15cf23281c6bc0aa930233a6610402'),
    ('0002', 'partition_maintenance', '610edd3f9e2bd7c9bebeceb8176ce91321978c9a8ab074169a7aa159ef067ac6'),
    ('0003', 'event_functions', '48879d6fbb0c4824477aa601bf9138323d785d8e26685175b695ed37fc73914c'),
    ('0004', 'metrics_aggregation_retention', 'a977b6d3d494803ace5f3d7101630c5cad205d50c1f96b1c8657c49247becef6'),
    ('0005', 'event_catalogue', 'fc29e46d8a8ade826a236faad72b9290e4cf29ba251160ecc20fde1b0d49e083'),
    ('0006', 'roles_and_security', 'db473dcefea4b357801314f6c7e9e0b00207d1e56c8ad41588122e2d92eda615'),
    ('0010', 'session_index', '91ab73ea1cd77575300b61ee2d86753232b2d4a1a206de6a70699337d29392a2'),
    ('0020', 'bounded_retention_batches', '6a715f9295e91d0f37e4d208661e9d9fa72d05c0eecaf323fdab0e362ff3327d'),
    ('0021', 'partition_retirement', '31aa60daa336cba6d60a4ef8d2e292ed92d8991da0936f2d730d1ebfe0d3128e'),
    ('0022', 'user_erasure', '9fa0934597ba93e4b2dec72b96d44356c6ee36a9ac27ce921639d85b9bc7d904'),
    ('0023', 'received_at_brin', '921bf65459c2fa8cbbffe074d9a20fc83d509f3eade84fe7b5d966b29a2c5f79'),
    ('0030', 'set_based_batch_emit', '0c6799536f014cdf734fe1b3127ebe629960f1670b0ba71cc3a2053be0a5bc64'),
    ('0031', 'segment_event_types', '9075bc91d0c887cec2a66fc97bd4ffa96d3c26c8d65480feaefac83f1abd4182'),
    ('0032', 'ingest_quarantine', 'a762cec6b261768700c06351285f757928418390bd6b0ee61152d8375a1a3c32'),
    ('0033', 'columnar_batch_emit', '6c5c8de36a7dfc517619eb8e8f77f368a417e14028946ce8afafe11eead3b8a3'),
    ('0039', 'quarantine_promotion', '3ea721c61bc5a8eedb0a4d6488e8be796e2631e2a939fe1f2c81523b9b0caaf9'),
    ('0040', 'custom_claim_plans', '7e2069dc1699738699156a98fed0f4bd8459b5813558f85ca6986a84abc37ddd'),
    ('0041', 'ingest_dead_letter', 'b057d34535b0fe4e7c7e887f4835a30a9b2879c8175787e2e35e67c8906c3f78'),
    ('0045', 'function_grants', '59ae349f1057a77b00a010a01c754b78421d5954f4240c9242cdb66253c0972d'),
    ('0046', 'storable_values_at_emit', '067a61f66ae68ab0a9090a7233312994a9543afcbf0a3706f53362ccd8b391d7'),
    ('0047', 'errors_without_values', 'ae7ba38c03b2009735413e2fbdd670b484217b7fa5055887e07d06d8d138e8a5'),
    ('0050', 'durable_delivery_batches', '571023cddaf35d72a2931c8f3d2ee63443fb89181013ed3421f658f130b1e749'),
    ('0060', 'validation_once', '3060aa9fe027daefba864d6ee586070dc33349f3f3c0883c254a46a9f43cec9a'),
    ('0061', 'tracking_plan', '43e4134a4cee325d77eb6351f1f8a610cdcb61d631bef149726e501edec8ae67'),
    ('0062', 'partitions_by_retention', 'd467017b5ca2bea5e86c16a99b1875e63fb253934611035d9d66d139e5c00a90');
