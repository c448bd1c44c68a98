-- 0033: emit_platform_events_columns: the batch emit with typed columns in, for the Python client.
--
-- emit_platform_events(jsonb) (0030) takes one JSON array of event objects apart in SQL: ->> / ->
-- per key per event, regular expressions and casts on event_id and occurred_at. A client that
-- already holds typed values sends five typed arrays in binary (uuid[], text[], timestamptz[])
-- and the two payload columns as two JSON arrays (one element per event), which costs the client
-- a single json.dumps per column instead of one per value.
--
-- Same contract, validation and idempotency as emit_platform_events: one answer row per input, in
-- order: accepted | duplicate | rejected with the error code, field and message
-- emit_platform_event raises. A NULL event_id gets a new id and a NULL occurred_at is now(), as
-- a missing key does there; a payload element is taken as is (a JSON null is rejected, PE006).
--
-- Where the time goes (2,000 realistic events, bench/client_emit.py): inserting the events costs
-- what COPY costs (every index of platform_events), the ledger about 40% of that; the rest is
-- made small here:
--   * validation is the set-based rules join of 0030 with each rule's conditions extracted once
--     per call and each event's value looked up once per rule; an event the rules do not clear
--     goes through platform_event_check(), which gives the exact error;
--   * the ledger insert is a plain INSERT (a speculative ON CONFLICT insert costs about 35% more)
--     inside a block that catches unique_violation: a batch holding an event_id already stored
--     (a retry, or a concurrent writer of the same id) is rolled back to the block and written
--     again with ON CONFLICT DO NOTHING, which answers those events duplicate. Same outcome,
--     paid only by the batches that hold duplicates.
-- tests/integration/test_client_columns.py checks both functions answer the same on every
-- catalogue rule, on mutated payloads, on duplicates within and across batches and on untrusted
-- callers.
--
-- Why not COPY into a staging table: the arrays cost the client about what a binary COPY costs,
-- need no table the ingest role can write to and no cleanup of staged rows, and keep the write
-- one round trip.

CREATE FUNCTION emit_platform_events_columns(p_event_ids   uuid[],
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
                        AND p.occurred_at <= now() + interval '1 day'
                        AND coalesce(length(p.user_id), 0) <= 255
                        AND coalesce(length(p.session_id), 0) <= 255
                        AND b.n IS NULL
                        AND octet_length(p.event_data::text) <= 32768
                        AND octet_length(p.metadata::text) <= 16384
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

-- The 0006 default-privileges REVOKE is per schema, and per-schema defaults can only add to the
-- global ones: new functions are executable by PUBLIC unless revoked, so revoke explicitly.
REVOKE ALL ON FUNCTION
    emit_platform_events_columns(uuid[], text[], text[], text[], timestamptz[], jsonb, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    emit_platform_events_columns(uuid[], text[], text[], text[], timestamptz[], jsonb, jsonb)
    TO platform_events_app, platform_events_ingest;
