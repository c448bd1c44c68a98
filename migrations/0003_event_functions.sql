-- 0003: validating emit (single and batch), claiming and acknowledging deliveries.
--
-- Error codes raised (class PE, "platform events"); the COLUMN field of the error names the input:
--   PE001 unknown event type          PE002 inactive event type       PE003 missing required field
--   PE004 event_data/metadata too big PE005 field has a wrong value   PE006 event_data not an object
--   PE007 occurred_at in the future   PE009 identifier too long       42501 forged user id
--   22023 invalid function argument

CREATE TYPE platform_event_check_result AS (
    error_code     text,
    error_field    text,
    error_message  text,
    category       text,
    schema_version integer
);

-- Validates one event against the latest active version of its type; pure (no writes), so both
-- emit paths share it. Returns error_code NULL plus the category and version when the event is valid.
CREATE FUNCTION platform_event_check(p_event_type text, p_event_data jsonb, p_metadata jsonb,
                                     p_occurred_at timestamptz, p_user_id text, p_session_id text)
RETURNS platform_event_check_result
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    v_schema   event_schemas%ROWTYPE;
    v_props    jsonb;
    v_key      text;
    v_prop     jsonb;
    v_value    jsonb;
    v_type     text;
    v_actual   text;
    r          platform_event_check_result;
BEGIN
    IF p_event_type IS NULL OR p_event_type = '' THEN
        r.error_code := 'PE001'; r.error_field := 'event_type';
        r.error_message := 'event_type is required';
        RETURN r;
    END IF;
    SELECT * INTO v_schema FROM event_schemas s
     WHERE s.event_type = p_event_type
     ORDER BY s.is_active DESC, s.version DESC
     LIMIT 1;
    IF NOT FOUND THEN
        r.error_code := 'PE001'; r.error_field := 'event_type';
        r.error_message := format('unknown event type %L: it is not in event_schemas', left(p_event_type, 100));
        RETURN r;
    ELSIF NOT v_schema.is_active THEN
        r.error_code := 'PE002'; r.error_field := 'event_type';
        r.error_message := format('event type %L is no longer active', p_event_type);
        RETURN r;
    END IF;
    IF p_event_data IS NULL OR jsonb_typeof(p_event_data) <> 'object' THEN
        r.error_code := 'PE006'; r.error_field := 'event_data';
        r.error_message := 'event_data must be a JSON object';
        RETURN r;
    END IF;
    IF octet_length(p_event_data::text) > 32768 THEN
        r.error_code := 'PE004'; r.error_field := 'event_data';
        r.error_message := format('event_data is %s bytes, over the 32768-byte limit',
                                  octet_length(p_event_data::text));
        RETURN r;
    END IF;
    IF p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        r.error_code := 'PE006'; r.error_field := 'metadata';
        r.error_message := 'metadata must be a JSON object';
        RETURN r;
    END IF;
    IF octet_length(coalesce(p_metadata, '{}')::text) > 16384 THEN
        r.error_code := 'PE004'; r.error_field := 'metadata';
        r.error_message := 'metadata is over the 16384-byte limit';
        RETURN r;
    END IF;
    IF p_occurred_at > now() + interval '1 day' THEN
        r.error_code := 'PE007'; r.error_field := 'occurred_at';
        r.error_message := 'occurred_at is more than a day in the future';
        RETURN r;
    END IF;
    IF length(p_user_id) > 255 THEN
        r.error_code := 'PE009'; r.error_field := 'user_id';
        r.error_message := 'user_id is longer than 255 characters';
        RETURN r;
    END IF;
    IF length(p_session_id) > 255 THEN
        r.error_code := 'PE009'; r.error_field := 'session_id';
        r.error_message := 'session_id is longer than 255 characters';
        RETURN r;
    END IF;

    FOR v_key IN SELECT jsonb_array_elements_text(coalesce(v_schema.json_schema -> 'required', '[]'))
    LOOP
        IF coalesce(jsonb_typeof(p_event_data -> v_key), 'null') = 'null' THEN
            r.error_code := 'PE003'; r.error_field := 'event_data.' || v_key;
            r.error_message := format('%s requires event_data.%s', p_event_type, v_key);
            RETURN r;
        END IF;
    END LOOP;

    v_props := coalesce(v_schema.json_schema -> 'properties', '{}');
    FOR v_key, v_prop IN SELECT key, value FROM jsonb_each(v_props)
    LOOP
        v_value := p_event_data -> v_key;
        CONTINUE WHEN v_value IS NULL OR jsonb_typeof(v_value) = 'null';
        v_type := v_prop ->> 'type';
        v_actual := jsonb_typeof(v_value);
        IF v_type IS NOT NULL AND NOT (
               v_type = v_actual
            OR (v_type = 'integer' AND v_actual = 'number' AND (v_value::text)::numeric % 1 = 0)) THEN
            r.error_code := 'PE005'; r.error_field := 'event_data.' || v_key;
            r.error_message := format('event_data.%s must be of type %s, got %s', v_key, v_type, v_actual);
            RETURN r;
        END IF;
        IF v_prop ? 'enum' AND NOT (v_prop -> 'enum') @> jsonb_build_array(v_value) THEN
            r.error_code := 'PE005'; r.error_field := 'event_data.' || v_key;
            r.error_message := format('event_data.%s must be one of %s', v_key, v_prop -> 'enum');
            RETURN r;
        END IF;
        IF v_actual = 'number' AND (
               (v_prop ? 'minimum' AND (v_value::text)::numeric < (v_prop ->> 'minimum')::numeric)
            OR (v_prop ? 'maximum' AND (v_value::text)::numeric > (v_prop ->> 'maximum')::numeric)) THEN
            r.error_code := 'PE005'; r.error_field := 'event_data.' || v_key;
            r.error_message := format('event_data.%s must be between %s and %s', v_key,
                                      coalesce(v_prop ->> 'minimum', '-inf'), coalesce(v_prop ->> 'maximum', 'inf'));
            RETURN r;
        END IF;
        IF v_actual = 'string' AND v_prop ? 'maxLength'
           AND length(v_value #>> '{}') > (v_prop ->> 'maxLength')::integer THEN
            r.error_code := 'PE005'; r.error_field := 'event_data.' || v_key;
            r.error_message := format('event_data.%s is longer than %s characters', v_key, v_prop ->> 'maxLength');
            RETURN r;
        END IF;
    END LOOP;

    r.category := v_schema.category;
    r.schema_version := v_schema.version;
    RETURN r;
END;
$$;

-- Whether the calling role may attribute events to any user (ingest, pipeline, the schema owner).
-- Everyone else (the app role) emits as the user its session names in platform_events.user_id.
CREATE FUNCTION platform_events_caller_is_trusted()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = public, pg_temp
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

-- The user an untrusted caller's events belong to; raises 42501 on a forged p_user_id.
CREATE FUNCTION platform_events_effective_user(p_user_id text, p_trusted boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
BEGIN
    IF p_trusted THEN
        RETURN p_user_id;
    END IF;
    IF p_user_id IS NOT NULL AND p_user_id IS DISTINCT FROM v_session_user THEN
        RAISE EXCEPTION 'user_id % does not match the session user (platform_events.user_id)', quote_literal(left(p_user_id, 64))
            USING ERRCODE = '42501', COLUMN = 'user_id';
    END IF;
    RETURN v_session_user;
END;
$$;

-- Stores one event for the given user with no check of who the caller is. Not executable by the
-- application: it is the common body of emit_platform_event and of trusted database triggers.
CREATE FUNCTION platform_events_store(p_event_type  text,
                                      p_event_data  jsonb,
                                      p_user_id     text,
                                      p_session_id  text,
                                      p_metadata    jsonb,
                                      p_occurred_at timestamptz,
                                      p_event_id    uuid)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_id      uuid := coalesce(p_event_id, gen_random_uuid());
    v_check   platform_event_check_result;
    v_now     timestamptz := now();
BEGIN
    v_check := platform_event_check(p_event_type, p_event_data, p_metadata,
                                    coalesce(p_occurred_at, v_now), p_user_id, p_session_id);
    IF v_check.error_code IS NOT NULL THEN
        RAISE EXCEPTION '%', v_check.error_message
            USING ERRCODE = v_check.error_code, COLUMN = v_check.error_field;
    END IF;
    INSERT INTO platform_event_delivery (event_id, received_at, event_type)
    VALUES (v_id, v_now, p_event_type)
    ON CONFLICT (event_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN v_id;  -- already stored: a retry of the same event
    END IF;
    INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                 session_id, occurred_at, received_at, event_data, metadata)
    VALUES (v_id, p_event_type, v_check.category, v_check.schema_version, p_user_id, p_session_id,
            coalesce(p_occurred_at, v_now), v_now, p_event_data, coalesce(p_metadata, '{}'::jsonb));
    RETURN v_id;
END;
$$;

-- Stores one event, pending delivery. Idempotent: an event_id already stored returns that id and
-- changes nothing. Invalid input raises (see the codes above) and stores nothing. The application
-- role emits as its session's user only (a different p_user_id raises 42501).
CREATE FUNCTION emit_platform_event(p_event_type  text,
                                    p_event_data  jsonb       DEFAULT '{}'::jsonb,
                                    p_user_id     text        DEFAULT NULL,
                                    p_session_id  text        DEFAULT NULL,
                                    p_metadata    jsonb       DEFAULT '{}'::jsonb,
                                    p_occurred_at timestamptz DEFAULT NULL,
                                    p_event_id    uuid        DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    RETURN platform_events_store(
        p_event_type, p_event_data,
        platform_events_effective_user(p_user_id, platform_events_caller_is_trusted()),
        p_session_id, p_metadata, p_occurred_at, p_event_id);
END;
$$;

-- Stores a batch given as a JSON array of objects with the keys event_type, event_data, user_id,
-- session_id, metadata, occurred_at, event_id. Same validation and idempotency as
-- emit_platform_event, but per event: one answer row per input (status accepted | duplicate |
-- rejected, with the error), and an invalid event never stops the valid ones.
CREATE FUNCTION emit_platform_events(p_events jsonb)
RETURNS TABLE (ordinal integer, event_id uuid, status text,
               error_code text, error_field text, error_message text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_trusted boolean := platform_events_caller_is_trusted();
BEGIN
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
        RAISE EXCEPTION 'emit_platform_events expects a JSON array of events'
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    IF jsonb_array_length(p_events) > 50000 THEN
        RAISE EXCEPTION 'a batch holds at most 50000 events, got %', jsonb_array_length(p_events)
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    RETURN QUERY
    WITH raw AS (
        SELECT i.n::integer AS n, i.e
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS i(e, n)
    ), parsed AS (
        SELECT raw.n,
               CASE WHEN jsonb_typeof(raw.e) = 'object' THEN 'ok' ELSE 'not_object' END AS shape,
               raw.e ->> 'event_type' AS event_type,
               coalesce(raw.e -> 'event_data', '{}'::jsonb) AS event_data,
               raw.e ->> 'user_id' AS user_id,
               raw.e ->> 'session_id' AS session_id,
               coalesce(raw.e -> 'metadata', '{}'::jsonb) AS metadata,
               CASE WHEN raw.e ->> 'occurred_at' IS NULL THEN now()
                    ELSE platform_events_try_timestamptz(raw.e ->> 'occurred_at') END AS occurred_at,
               raw.e ->> 'occurred_at' AS occurred_at_text,
               CASE WHEN raw.e ->> 'event_id' IS NULL THEN gen_random_uuid()
                    ELSE platform_events_try_uuid(raw.e ->> 'event_id') END AS event_id,
               raw.e ->> 'event_id' AS event_id_text
        FROM raw
    ), checked AS (
        SELECT p.*,
               CASE
                   WHEN p.shape <> 'ok' THEN ROW('PE006', 'events[' || p.n || ']', 'each event must be a JSON object', NULL, NULL)::platform_event_check_result
                   WHEN p.event_id IS NULL THEN ROW('PE005', 'event_id', 'event_id must be a UUID', NULL, NULL)::platform_event_check_result
                   WHEN p.occurred_at IS NULL THEN ROW('PE005', 'occurred_at', 'occurred_at must be an ISO 8601 timestamp', NULL, NULL)::platform_event_check_result
                   WHEN NOT v_trusted AND p.user_id IS NOT NULL
                        AND p.user_id IS DISTINCT FROM nullif(current_setting('platform_events.user_id', true), '')
                        THEN ROW('42501', 'user_id', 'user_id does not match the session user (platform_events.user_id)', NULL, NULL)::platform_event_check_result
                   ELSE platform_event_check(p.event_type, p.event_data, p.metadata, p.occurred_at,
                                             p.user_id, p.session_id)
               END AS c
        FROM parsed p
    ), valid AS (
        SELECT DISTINCT ON (ck.event_id) ck.*
        FROM checked ck
        WHERE (ck.c).error_code IS NULL
        ORDER BY ck.event_id, ck.n
    ), ledger AS (
        INSERT INTO platform_event_delivery AS d (event_id, received_at, event_type)
        SELECT v.event_id, now(), v.event_type FROM valid v
        ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING
        RETURNING d.event_id
    ), stored AS (
        INSERT INTO platform_events AS e (event_id, event_type, event_category, schema_version, user_id,
                                          session_id, occurred_at, received_at, event_data, metadata)
        SELECT v.event_id, v.event_type, (v.c).category, (v.c).schema_version,
               CASE WHEN v_trusted THEN v.user_id
                    ELSE nullif(current_setting('platform_events.user_id', true), '') END,
               v.session_id, v.occurred_at, now(), v.event_data, v.metadata
        FROM valid v JOIN ledger l ON l.event_id = v.event_id
        RETURNING e.event_id
    )
    SELECT ck.n,
           ck.event_id,
           CASE WHEN (ck.c).error_code IS NOT NULL THEN 'rejected'
                WHEN s.event_id IS NOT NULL AND ck.n = (SELECT min(v.n) FROM valid v WHERE v.event_id = ck.event_id) THEN 'accepted'
                ELSE 'duplicate' END,
           (ck.c).error_code, (ck.c).error_field, (ck.c).error_message
    FROM checked ck
    LEFT JOIN stored s ON s.event_id = ck.event_id
    ORDER BY ck.n;
END;
$$;

CREATE FUNCTION platform_events_try_uuid(p_text text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN p_text::uuid;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END;
$$;

CREATE FUNCTION platform_events_try_timestamptz(p_text text) RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN p_text::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
    RETURN NULL;
END;
$$;

-- Claims up to p_batch_size due events for delivery. Rows another worker holds are skipped
-- (FOR UPDATE SKIP LOCKED), so concurrent workers get disjoint batches. Claims older than
-- p_visibility_timeout belong to a worker that died: they count as a failed attempt and are
-- claimable again (or failed once p_max_retries attempts are spent).
CREATE FUNCTION get_pending_events(p_batch_size         integer  DEFAULT 100,
                                   p_visibility_timeout interval DEFAULT interval '5 minutes',
                                   p_max_retries        integer  DEFAULT 3)
RETURNS TABLE (event_id uuid, event_type text, event_category text, schema_version integer,
               user_id text, session_id text, occurred_at timestamptz, received_at timestamptz,
               event_data jsonb, metadata jsonb, retry_count integer)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
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

    UPDATE platform_event_delivery d
       SET retry_count = d.retry_count + 1,
           status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
           next_attempt_at = now(),
           last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                               p_visibility_timeout),
           claimed_at = NULL
      FROM (SELECT s.event_id FROM platform_event_delivery s
             WHERE s.status = 'processing' AND s.claimed_at < now() - p_visibility_timeout
             FOR UPDATE SKIP LOCKED) stuck
     WHERE d.event_id = stuck.event_id;

    WITH due AS (
        SELECT s.event_id FROM platform_event_delivery s
         WHERE s.status = 'pending' AND s.next_attempt_at <= now()
         ORDER BY s.next_attempt_at
         LIMIT p_batch_size
         FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE platform_event_delivery d
           SET status = 'processing', claimed_at = now()
          FROM due
         WHERE d.event_id = due.event_id
        RETURNING d.event_id, d.received_at, d.retry_count
    )
    SELECT array_agg(c.event_id), array_agg(c.retry_count), min(c.received_at), max(c.received_at)
      INTO v_ids, v_retries, v_min, v_max
      FROM claimed c;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    -- Fetch by primary key within the claimed time range so only the partitions involved are read.
    RETURN QUERY
    SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
           e.occurred_at, e.received_at, e.event_data, e.metadata, r.retry_count
      FROM platform_events e
      JOIN unnest(v_ids, v_retries) AS r(event_id, retry_count) ON r.event_id = e.event_id
     WHERE e.event_id = ANY (v_ids)
       AND e.received_at BETWEEN v_min AND v_max
     ORDER BY e.received_at, e.event_id;
END;
$$;

-- The delay before attempt n+1 after n failed attempts: exponential with equal jitter, capped.
CREATE FUNCTION platform_events_backoff(p_attempts integer, p_base interval)
RETURNS interval
LANGUAGE sql VOLATILE
AS $$
    SELECT least(p_base * power(2, greatest(p_attempts - 1, 0))::double precision, interval '1 hour')
           * (0.5 + random() / 2);
$$;

-- Records the outcome of delivering a batch: success marks every id delivered; failure counts an
-- attempt, schedules the next with backoff, and marks the event failed after p_max_retries.
-- Returns how many rows changed. A late failure report for an event another worker has since
-- reclaimed is ignored (only rows still in processing are failed).
CREATE FUNCTION mark_event_processed(p_event_ids   uuid[],
                                     p_success     boolean,
                                     p_error       text     DEFAULT NULL,
                                     p_max_retries integer  DEFAULT 3,
                                     p_backoff     interval DEFAULT interval '30 seconds')
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
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
         WHERE d.event_id = ANY (p_event_ids) AND d.status <> 'delivered';
    ELSE
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now() + platform_events_backoff(d.retry_count + 1, p_backoff),
               last_error = left(coalesce(p_error, 'unknown error'), 2000),
               claimed_at = NULL
         WHERE d.event_id = ANY (p_event_ids) AND d.status = 'processing';
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Single-event form of the above; returns the event's new status (NULL when it is unknown).
CREATE FUNCTION mark_event_processed(p_event_id    uuid,
                                     p_success     boolean,
                                     p_error       text     DEFAULT NULL,
                                     p_max_retries integer  DEFAULT 3,
                                     p_backoff     interval DEFAULT interval '30 seconds')
RETURNS text
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM mark_event_processed(ARRAY[p_event_id], p_success, p_error, p_max_retries, p_backoff);
    RETURN (SELECT d.status FROM platform_event_delivery d WHERE d.event_id = p_event_id);
END;
$$;
