-- 0046: values no warehouse can store are rejected at emit, on every emit path, by two rules written once.
--
-- A value PostgreSQL stores but a sink cannot is a poison event: it fails every delivery attempt
-- of its batch. The ranges are the sinks' documented ones (the narrowest wins):
--   * timestamps: BigQuery TIMESTAMP holds 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999 UTC
--     (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#timestamp_type);
--     Redshift TIMESTAMPTZ 4713 BC to 294276 AD (docs.aws.amazon.com/redshift/latest/dg/
--     r_Datetime_types.html), DuckDB TIMESTAMPTZ wider still, but Python's datetime (the
--     pipeline's row building) years 1 to 9999 only, and no sink stores PostgreSQL's
--     'infinity' / '-infinity' as a time. PostgreSQL itself accepts 4713 BC to 294276 AD.
--   * JSON (event_data, metadata): BigQuery's JSON type "has a nesting limit of 500"
--     (https://cloud.google.com/bigquery/docs/json-data#limitations), and JSON numbers are read
--     as IEEE doubles by the pipeline (Python's json), DuckDB's JSON functions and BigQuery's
--     JSON FLOAT64: a jsonb number beyond +-1.7976931348623157e308 (jsonb keeps any numeric)
--     becomes Infinity, which is not JSON at all. PostgreSQL already refuses U+0000, unpaired
--     surrogates and NaN in jsonb.
-- platform_events_storable_timestamp and platform_events_json_problem are those rules;
-- platform_event_check (the exact-error path of every emit: emit_platform_event,
-- platform_events_store and the triggers, the batch functions' fallback) and the set-based fast
-- paths of emit_platform_events (quarantine promotion goes through it) and
-- emit_platform_events_columns call them. Errors: PE007 occurred_at, PE005 event_data / metadata.
-- The bodies below are 0003's, 0030's and 0033's with those conditions added, and one setting:
--
-- JIT off in the functions that turn nested loops off. Up to PostgreSQL 17 a disabled plan node
-- still costs disable_cost (1e10) more, so every plan of these functions costs past
-- jit_above_cost (100000) and jit_optimize/inline_above_cost (500000): with jit = on (the
-- default, and Debian's PostgreSQL 15) each call compiled and optimised its plan with LLVM,
-- 3.3 s for a one-event batch here against 47 ms with jit = off (0030's body, measured on
-- PostgreSQL 15.18). PostgreSQL 18 counts disabled nodes apart from the cost, and the embedded
-- server runs jit = off, which is why only the PostgreSQL 15 pass showed it.

CREATE FUNCTION platform_events_storable_timestamp(p_ts timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_ts BETWEEN '0001-01-01 00:00:00+00'::timestamptz AND '9999-12-31 23:59:59.999999+00'::timestamptz;

-- Why a JSON value cannot be stored by every warehouse (completing "event_data ..."), or NULL.
-- Both tests are jsonpath walks in C (about 1.5 us for a 450-byte payload); strict mode makes a
-- comparison with a non-number false instead of an error.
CREATE FUNCTION platform_events_json_problem(p_value jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_path_exists(p_value, 'strict $.**{500 to last}')
        THEN 'nests a value 500 levels deep (BigQuery''s JSON nesting limit is 500)'
    WHEN jsonb_path_exists(p_value, 'strict $.** ? (@ > 1.7976931348623157e308 || @ < -1.7976931348623157e308)')
        THEN 'holds a number beyond the double-precision range (+-1.7976931348623157e308) warehouses read JSON numbers in'
END;

-- 0003's validator, with the two rules.
CREATE OR REPLACE FUNCTION platform_event_check(p_event_type text, p_event_data jsonb, p_metadata jsonb,
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
    v_problem  text;
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
    IF NOT platform_events_storable_timestamp(p_occurred_at) THEN
        r.error_code := 'PE007'; r.error_field := 'occurred_at';
        r.error_message := 'occurred_at must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the range every warehouse stores';
        RETURN r;
    END IF;
    IF p_occurred_at > now() + interval '1 day' THEN
        r.error_code := 'PE007'; r.error_field := 'occurred_at';
        r.error_message := 'occurred_at is more than a day in the future';
        RETURN r;
    END IF;
    v_problem := platform_events_json_problem(p_event_data);
    IF v_problem IS NOT NULL THEN
        r.error_code := 'PE005'; r.error_field := 'event_data';
        r.error_message := 'event_data ' || v_problem;
        RETURN r;
    END IF;
    v_problem := platform_events_json_problem(p_metadata);
    IF v_problem IS NOT NULL THEN
        r.error_code := 'PE005'; r.error_field := 'metadata';
        r.error_message := 'metadata ' || v_problem;
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

-- 0030's batch emit, with the two rules in its fast path.
CREATE OR REPLACE FUNCTION emit_platform_events(p_events jsonb)
RETURNS TABLE (ordinal integer, event_id uuid, status text,
               error_code text, error_field text, error_message text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
-- The planner cannot know how many events the array holds (it guesses 100, then 1 after each
-- filter) and picks nested loops over the CTEs: quadratic. Hash joins are right at any size.
SET enable_nestloop = off
SET jit = off
AS $$
DECLARE
    v_trusted      boolean := platform_events_caller_is_trusted();
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
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
    ), parsed AS MATERIALIZED (
        SELECT raw.n,
               jsonb_typeof(raw.e) = 'object' AS is_object,
               raw.e ->> 'event_type' AS event_type,
               coalesce(raw.e -> 'event_data', '{}'::jsonb) AS event_data,
               raw.e ->> 'user_id' AS user_id,
               raw.e ->> 'session_id' AS session_id,
               coalesce(raw.e -> 'metadata', '{}'::jsonb) AS metadata,
               CASE WHEN raw.e ->> 'occurred_at' IS NULL THEN now()
                    -- Canonical ISO 8601 casts directly; days 29-31, leap seconds and unusual zones
                    -- take the exact (slower) path of 0003.
                    WHEN raw.e ->> 'occurred_at' ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?$'
                         THEN (raw.e ->> 'occurred_at')::timestamptz
                    ELSE platform_events_try_timestamptz(raw.e ->> 'occurred_at') END AS occurred_at,
               CASE WHEN raw.e ->> 'event_id' IS NULL THEN gen_random_uuid()
                    WHEN raw.e ->> 'event_id' ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
                         THEN (raw.e ->> 'event_id')::uuid
                    ELSE platform_events_try_uuid(raw.e ->> 'event_id') END AS event_id
        FROM raw
    ), schemas AS MATERIALIZED (
        -- The version platform_event_check uses: the latest, active ones first.
        SELECT DISTINCT ON (s.event_type) s.event_type, s.version, s.category, s.is_active, s.json_schema
        FROM event_schemas s
        WHERE s.event_type IN (SELECT DISTINCT p.event_type FROM parsed p)
        ORDER BY s.event_type, s.is_active DESC, s.version DESC
    ), rules AS MATERIALIZED (
        SELECT sc.event_type, k.key,
               coalesce(sc.json_schema -> 'properties' -> k.key, '{}'::jsonb) AS prop,
               coalesce(sc.json_schema -> 'required', '[]'::jsonb) ? k.key AS required
        FROM schemas sc
        CROSS JOIN LATERAL (
            SELECT jsonb_object_keys(coalesce(sc.json_schema -> 'properties', '{}'::jsonb))
            UNION
            SELECT jsonb_array_elements_text(coalesce(sc.json_schema -> 'required', '[]'::jsonb))
        ) AS k(key)
    ), broken AS (
        -- Events of a known type with a payload that breaks at least one rule of its schema.
        SELECT DISTINCT p.n
        FROM parsed p
        JOIN rules r ON r.event_type = p.event_type
        CROSS JOIN LATERAL (SELECT p.event_data -> r.key AS v) AS val
        WHERE jsonb_typeof(p.event_data) = 'object'
          AND CASE
                WHEN coalesce(jsonb_typeof(val.v), 'null') = 'null' THEN r.required
                ELSE (r.prop ? 'type' AND NOT (
                          r.prop ->> 'type' = jsonb_typeof(val.v)
                       OR (r.prop ->> 'type' = 'integer' AND jsonb_typeof(val.v) = 'number'
                           AND (val.v::text)::numeric % 1 = 0)))
                  OR (r.prop ? 'enum' AND NOT (r.prop -> 'enum') @> jsonb_build_array(val.v))
                  OR (jsonb_typeof(val.v) = 'number' AND (
                          (r.prop ? 'minimum' AND (val.v::text)::numeric < (r.prop ->> 'minimum')::numeric)
                       OR (r.prop ? 'maximum' AND (val.v::text)::numeric > (r.prop ->> 'maximum')::numeric)))
                  OR (jsonb_typeof(val.v) = 'string' AND r.prop ? 'maxLength'
                      AND length(val.v #>> '{}') > (r.prop ->> 'maxLength')::integer)
              END
    ), checked AS MATERIALIZED (
        SELECT p.n, p.event_type, p.event_data, p.user_id, p.session_id, p.metadata,
               p.occurred_at, p.event_id,
               CASE
                   WHEN NOT p.is_object THEN ROW('PE006', 'events[' || p.n || ']', 'each event must be a JSON object', NULL, NULL)::platform_event_check_result
                   WHEN p.event_id IS NULL THEN ROW('PE005', 'event_id', 'event_id must be a UUID', NULL, NULL)::platform_event_check_result
                   WHEN p.occurred_at IS NULL THEN ROW('PE005', 'occurred_at', 'occurred_at must be an ISO 8601 timestamp', NULL, NULL)::platform_event_check_result
                   WHEN NOT v_trusted AND p.user_id IS NOT NULL AND p.user_id IS DISTINCT FROM v_session_user
                        THEN ROW('42501', 'user_id', 'user_id does not match the session user (platform_events.user_id)', NULL, NULL)::platform_event_check_result
                   -- The row-level conditions of platform_event_check, then the schema rules.
                   WHEN sc.is_active
                        AND p.event_type <> ''
                        AND jsonb_typeof(p.event_data) = 'object'
                        AND octet_length(p.event_data::text) <= 32768
                        AND jsonb_typeof(p.metadata) = 'object'
                        AND octet_length(p.metadata::text) <= 16384
                        AND platform_events_storable_timestamp(p.occurred_at)
                        AND p.occurred_at <= now() + interval '1 day'
                        AND coalesce(length(p.user_id), 0) <= 255
                        AND coalesce(length(p.session_id), 0) <= 255
                        AND b.n IS NULL
                        AND platform_events_json_problem(p.event_data) IS NULL
                        AND platform_events_json_problem(p.metadata) IS NULL
                        THEN ROW(NULL, NULL, NULL, sc.category, sc.version)::platform_event_check_result
                   ELSE platform_event_check(p.event_type, p.event_data, p.metadata, p.occurred_at,
                                             p.user_id, p.session_id)
               END AS c
        FROM parsed p
        LEFT JOIN schemas sc ON sc.event_type = p.event_type
        LEFT JOIN broken b ON b.n = p.n
    ), valid AS MATERIALIZED (
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
               CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
               v.session_id, v.occurred_at, now(), v.event_data, v.metadata
        FROM valid v JOIN ledger l ON l.event_id = v.event_id
        RETURNING e.event_id
    ), accepted AS (
        SELECT v.n FROM valid v JOIN stored s ON s.event_id = v.event_id
    )
    SELECT ck.n,
           ck.event_id,
           CASE WHEN (ck.c).error_code IS NOT NULL THEN 'rejected'
                WHEN a.n IS NOT NULL THEN 'accepted'
                ELSE 'duplicate' END,
           (ck.c).error_code, (ck.c).error_field, (ck.c).error_message
    FROM checked ck
    LEFT JOIN accepted a ON a.n = ck.n
    ORDER BY ck.n;
END;
$$;

-- 0033's columnar emit, with the two rules in its fast path.
CREATE OR REPLACE FUNCTION emit_platform_events_columns(p_event_ids   uuid[],
                                             p_event_types text[],
                                             p_user_ids    text[],
                                             p_session_ids text[],
                                             p_occurred_at timestamptz[],
                                             p_event_data  jsonb,
                                             p_metadata    jsonb)
RETURNS TABLE (ordinal integer, event_id uuid, status text,
               error_code text, error_field text, error_message text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
-- As in 0030: the planner cannot see the batch size and would pick quadratic nested loops.
SET enable_nestloop = off
SET jit = off
AS $$
DECLARE
    v_trusted      boolean := platform_events_caller_is_trusted();
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
    v_count        integer := coalesce(cardinality(p_event_types), 0);
    v_data         jsonb[];
    v_meta         jsonb[];
    -- The validation's answer, one element per event in input order.
    v_ids          uuid[];
    v_occurred     timestamptz[];
    v_codes        text[];
    v_fields       text[];
    v_messages     text[];
    v_categories   text[];
    v_versions     integer[];
    -- Ordinals of the events this call stored.
    v_accepted     integer[];
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
    IF v_count > 50000 THEN
        RAISE EXCEPTION 'a batch holds at most 50000 events, got %', v_count
            USING ERRCODE = '22023', COLUMN = 'events';
    END IF;
    IF v_count = 0 THEN
        RETURN;
    END IF;
    v_data := ARRAY(SELECT e.value FROM jsonb_array_elements(p_event_data) WITH ORDINALITY AS e(value, n) ORDER BY e.n);
    v_meta := ARRAY(SELECT e.value FROM jsonb_array_elements(p_metadata) WITH ORDINALITY AS e(value, n) ORDER BY e.n);

    -- 1. Validate (no writes).
    WITH parsed AS MATERIALIZED (
        SELECT u.n::integer AS n,
               coalesce(u.event_id, gen_random_uuid()) AS event_id,
               u.event_type, u.event_data, u.user_id, u.session_id, u.metadata,
               coalesce(u.occurred_at, now()) AS occurred_at
        FROM unnest(p_event_ids, p_event_types, v_data, p_user_ids, p_session_ids, v_meta, p_occurred_at)
             WITH ORDINALITY AS u(event_id, event_type, event_data, user_id, session_id, metadata, occurred_at, n)
    ), schemas AS MATERIALIZED (
        -- The version platform_event_check uses: the latest, active ones first.
        SELECT DISTINCT ON (s.event_type) s.event_type, s.version, s.category, s.is_active, s.json_schema
        FROM event_schemas s
        WHERE s.event_type IN (SELECT DISTINCT p.event_type FROM parsed p)
        ORDER BY s.event_type, s.is_active DESC, s.version DESC
    ), rules AS MATERIALIZED (
        -- One row per key a schema constrains, its conditions as typed values. A rule whose
        -- conditions are not of the expected JSON type is left to platform_event_check (opaque).
        SELECT sc.event_type, k.key,
               coalesce(sc.json_schema -> 'required', '[]'::jsonb) ? k.key AS required,
               pr.prop ->> 'type' AS want_type,
               pr.prop -> 'enum' AS enum_values,
               CASE WHEN jsonb_typeof(pr.prop -> 'minimum') = 'number' THEN (pr.prop -> 'minimum')::numeric END AS minimum,
               CASE WHEN jsonb_typeof(pr.prop -> 'maximum') = 'number' THEN (pr.prop -> 'maximum')::numeric END AS maximum,
               CASE WHEN jsonb_typeof(pr.prop -> 'maxLength') = 'number'
                         AND (pr.prop -> 'maxLength')::numeric BETWEEN 0 AND 2147483647
                         AND (pr.prop -> 'maxLength')::numeric % 1 = 0
                    THEN (pr.prop -> 'maxLength')::integer END AS max_length,
               (pr.prop ? 'minimum' AND jsonb_typeof(pr.prop -> 'minimum') <> 'number')
               OR (pr.prop ? 'maximum' AND jsonb_typeof(pr.prop -> 'maximum') <> 'number')
               OR (pr.prop ? 'maxLength' AND NOT (jsonb_typeof(pr.prop -> 'maxLength') = 'number'
                                                  AND (pr.prop -> 'maxLength')::numeric BETWEEN 0 AND 2147483647
                                                  AND (pr.prop -> 'maxLength')::numeric % 1 = 0))
               OR (pr.prop ? 'type' AND jsonb_typeof(pr.prop -> 'type') <> 'string')
               OR (pr.prop ? 'enum' AND jsonb_typeof(pr.prop -> 'enum') <> 'array') AS opaque
        FROM schemas sc
        CROSS JOIN LATERAL (
            SELECT jsonb_object_keys(coalesce(sc.json_schema -> 'properties', '{}'::jsonb))
            UNION
            SELECT jsonb_array_elements_text(coalesce(sc.json_schema -> 'required', '[]'::jsonb))
        ) AS k(key)
        CROSS JOIN LATERAL (
            SELECT coalesce(sc.json_schema -> 'properties' -> k.key, '{}'::jsonb) AS prop
        ) AS pr
    ), broken AS (
        -- Events of a known type with a payload that breaks (or may break) a rule of its schema.
        -- Each value is looked up once (OFFSET 0 keeps the planner from inlining v and t into
        -- every condition) and each condition is evaluated only for rules that have it.
        SELECT DISTINCT x.n
        FROM (SELECT p.n, r.required, r.want_type, r.enum_values, r.minimum, r.maximum,
                     r.max_length, r.opaque, p.event_data -> r.key AS v,
                     jsonb_typeof(p.event_data -> r.key) AS t
                FROM parsed p
                JOIN rules r ON r.event_type = p.event_type
              OFFSET 0) AS x
        WHERE x.opaque
           OR CASE
                WHEN x.t IS NULL OR x.t = 'null' THEN x.required
                ELSE (x.want_type <> x.t
                      AND NOT (x.want_type = 'integer' AND x.t = 'number' AND x.v::numeric % 1 = 0))
                  OR (x.enum_values IS NOT NULL AND NOT x.enum_values @> jsonb_build_array(x.v))
                  OR (x.t = 'number' AND ((x.minimum IS NOT NULL AND x.v::numeric < x.minimum)
                                          OR (x.maximum IS NOT NULL AND x.v::numeric > x.maximum)))
                  OR (x.max_length IS NOT NULL AND x.t = 'string'
                      AND length(x.v #>> '{}') > x.max_length)
              END
    ), checked AS MATERIALIZED (
        SELECT p.n, p.event_id, p.occurred_at,
               CASE
                   WHEN NOT v_trusted AND p.user_id IS NOT NULL AND p.user_id IS DISTINCT FROM v_session_user
                        THEN ROW('42501', 'user_id', 'user_id does not match the session user (platform_events.user_id)', NULL, NULL)::platform_event_check_result
                   -- The row-level conditions of platform_event_check, then the schema rules.
                   WHEN sc.is_active
                        AND p.event_type <> ''
                        AND jsonb_typeof(p.event_data) = 'object'
                        AND jsonb_typeof(p.metadata) = 'object'
                        AND platform_events_storable_timestamp(p.occurred_at)
                        AND p.occurred_at <= now() + interval '1 day'
                        AND coalesce(length(p.user_id), 0) <= 255
                        AND coalesce(length(p.session_id), 0) <= 255
                        AND b.n IS NULL
                        AND octet_length(p.event_data::text) <= 32768
                        AND octet_length(p.metadata::text) <= 16384
                        AND platform_events_json_problem(p.event_data) IS NULL
                        AND platform_events_json_problem(p.metadata) IS NULL
                        THEN ROW(NULL, NULL, NULL, sc.category, sc.version)::platform_event_check_result
                   ELSE platform_event_check(p.event_type, p.event_data, p.metadata, p.occurred_at,
                                             p.user_id, p.session_id)
               END AS c
        FROM parsed p
        LEFT JOIN schemas sc ON sc.event_type = p.event_type
        LEFT JOIN broken b ON b.n = p.n
    )
    SELECT array_agg(ck.event_id ORDER BY ck.n), array_agg(ck.occurred_at ORDER BY ck.n),
           array_agg((ck.c).error_code ORDER BY ck.n), array_agg((ck.c).error_field ORDER BY ck.n),
           array_agg((ck.c).error_message ORDER BY ck.n), array_agg((ck.c).category ORDER BY ck.n),
           array_agg((ck.c).schema_version ORDER BY ck.n)
      INTO v_ids, v_occurred, v_codes, v_fields, v_messages, v_categories, v_versions
      FROM checked ck;

    -- 2. Write the valid events; the first occurrence of an event_id in the batch is the one.
    BEGIN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, v_data, p_user_ids,
                        p_session_ids, v_meta, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            WHERE u.error_code IS NULL
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery (event_id, received_at, event_type)
            SELECT v.event_id, now(), v.event_type FROM valid v
        ), stored AS (
            INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                         session_id, occurred_at, received_at, event_data, metadata)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, v.metadata
            FROM valid v
        )
        -- Both inserts run to completion whether read or not: every valid event is stored.
        SELECT array_agg(v.n::integer) INTO v_accepted FROM valid v;
    EXCEPTION WHEN unique_violation THEN
        -- An event_id of the batch is already in the ledger: everything above is rolled back;
        -- write again, storing only the events the ledger takes.
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, v_data, p_user_ids,
                        p_session_ids, v_meta, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            WHERE u.error_code IS NULL
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery AS d (event_id, received_at, event_type)
            SELECT v.event_id, now(), v.event_type FROM valid v
            ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING
            RETURNING d.event_id
        ), stored AS (
            INSERT INTO platform_events AS e (event_id, event_type, event_category, schema_version, user_id,
                                              session_id, occurred_at, received_at, event_data, metadata)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, v.metadata
            FROM valid v JOIN ledger l ON l.event_id = v.event_id
            RETURNING e.event_id
        )
        SELECT array_agg(v.n::integer) INTO v_accepted
          FROM valid v JOIN stored s ON s.event_id = v.event_id;
    END;

    -- 3. One answer per event, in order.
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

-- 0032's quarantine turns nested loops off too.
ALTER FUNCTION quarantine_platform_events(jsonb) SET jit = off;

REVOKE ALL ON FUNCTION platform_events_storable_timestamp(timestamptz),
                       platform_events_json_problem(jsonb) FROM PUBLIC;
