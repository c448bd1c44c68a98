-- 0004: real-time metrics, aggregations, metric cleanup, retention and GDPR anonymization.

-- Sets (or, with p_increment, adds to) a metric for the given dimensions, valid for p_ttl.
-- An increment of an expired metric starts again from the new value.
CREATE FUNCTION update_realtime_metric(p_metric_name text,
                                       p_value       double precision,
                                       p_dimensions  jsonb    DEFAULT '{}'::jsonb,
                                       p_ttl         interval DEFAULT interval '1 hour',
                                       p_increment   boolean  DEFAULT false)
RETURNS double precision
LANGUAGE sql
SET search_path = public, pg_temp
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

-- Batch form: one statement for many metrics, given as parallel arrays. Used by streaming, which
-- updates a handful of counters per batch instead of one round trip per event.
CREATE FUNCTION update_realtime_metrics(p_metric_names text[],
                                        p_values       double precision[],
                                        p_dimensions   jsonb[],
                                        p_ttl          interval DEFAULT interval '1 hour',
                                        p_increment    boolean  DEFAULT true)
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
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

CREATE FUNCTION cleanup_expired_metrics()
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_metrics_realtime WHERE expires_at <= now();
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Recomputes every bucket of p_granularity that overlaps [p_from, p_to) from the stored events
-- (bucketed by occurred_at, in UTC). Recomputing replaces: running it twice gives the same rows,
-- and a late event is counted when its bucket is recomputed. Returns the number of buckets written.
CREATE FUNCTION aggregate_events(p_granularity text, p_from timestamptz, p_to timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
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

-- The seed's hourly job; by default it recomputes the last three hours so late events are counted.
CREATE FUNCTION aggregate_events_hourly(p_from timestamptz DEFAULT now() - interval '3 hours',
                                        p_to   timestamptz DEFAULT now())
RETURNS integer
LANGUAGE sql
SET search_path = public, pg_temp
AS $$
    SELECT aggregate_events('hour', p_from, p_to);
$$;

-- Per event type: how many delivered events are past their retention. Undelivered (pending,
-- processing, failed) events are never counted: they must reach the warehouse first.
CREATE FUNCTION platform_events_retention_preview()
RETURNS TABLE (event_type text, category text, retention interval, expired bigint)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    WITH policy AS (
        SELECT DISTINCT ON (s.event_type) s.event_type, s.category, s.retention
          FROM event_schemas s
         ORDER BY s.event_type, s.version DESC
    )
    SELECT p.event_type, p.category, p.retention,
           (SELECT count(*)
              FROM platform_events e
              JOIN platform_event_delivery d ON d.event_id = e.event_id AND d.received_at = e.received_at
             WHERE e.event_type = p.event_type
               AND e.occurred_at < now() - p.retention
               AND d.status = 'delivered')
      FROM policy p
     ORDER BY p.event_type;
$$;

-- Deletes at most p_batch_size expired, delivered events per type and returns what it deleted.
-- Bounded on purpose: callers repeat it (each call its own short transaction) until it returns
-- nothing, so it never holds locks for long; deletes take only row locks, which inserts ignore.
CREATE FUNCTION apply_data_retention_policy(p_batch_size integer DEFAULT 5000)
RETURNS TABLE (event_type text, category text, retention interval, deleted bigint)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_policy  record;
    v_ids     uuid[];
    v_min     timestamptz;
    v_max     timestamptz;
    v_deleted bigint;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 OR p_batch_size > 100000 THEN
        RAISE EXCEPTION 'batch size must be between 1 and 100000' USING ERRCODE = '22023',
            COLUMN = 'batch_size';
    END IF;
    FOR v_policy IN
        SELECT DISTINCT ON (s.event_type) s.event_type, s.category, s.retention
          FROM event_schemas s
         ORDER BY s.event_type, s.version DESC
    LOOP
        SELECT array_agg(d.event_id), min(d.received_at), max(d.received_at)
          INTO v_ids, v_min, v_max
          FROM (SELECT e.event_id, e.received_at
                  FROM platform_events e
                 WHERE e.event_type = v_policy.event_type
                   AND e.occurred_at < now() - v_policy.retention
                 ORDER BY e.occurred_at) candidate
          JOIN LATERAL (
                SELECT dd.event_id, dd.received_at FROM platform_event_delivery dd
                 WHERE dd.event_id = candidate.event_id AND dd.status = 'delivered'
                   FOR UPDATE SKIP LOCKED) d ON true
         LIMIT p_batch_size;
        v_deleted := 0;
        IF v_ids IS NOT NULL THEN
            DELETE FROM platform_events e
             WHERE e.event_id = ANY (v_ids) AND e.received_at BETWEEN v_min AND v_max;
            GET DIAGNOSTICS v_deleted = ROW_COUNT;
            DELETE FROM platform_event_delivery d WHERE d.event_id = ANY (v_ids);
        END IF;
        event_type := v_policy.event_type;
        category := v_policy.category;
        retention := v_policy.retention;
        deleted := v_deleted;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Metadata keys that identify a person; anonymization drops them.
CREATE FUNCTION platform_events_personal_metadata_keys()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY['ip', 'ip_address', 'user_agent', 'email', 'name', 'phone', 'traits', 'referrer',
                 'url', 'page_url', 'location', 'geo', 'device_id', 'anonymous_id'];
$$;

-- GDPR erasure in the event store: for every event of p_user_id, the user and session ids are
-- removed, the fields its schema marks "x-personal" are dropped, any value equal to the user id is
-- nulled, and personal metadata is dropped. Events of other users that point at this user through
-- a field marked "x-user-reference" get that field nulled. Returns the number of events changed.
CREATE FUNCTION anonymize_user_events(p_user_id text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = public, pg_temp
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
           event_data = (SELECT coalesce(jsonb_object_agg(kv.key,
                                             CASE WHEN kv.value = to_jsonb(p_user_id) THEN 'null'::jsonb
                                                  ELSE kv.value END), '{}'::jsonb)
                           FROM jsonb_each(e.event_data - coalesce(
                                    (SELECT pe.keys FROM personal pe WHERE pe.event_type = e.event_type),
                                    ARRAY[]::text[])) kv),
           metadata = (e.metadata - platform_events_personal_metadata_keys())
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
