-- 0060: event validation written once. Every emit path (emit_platform_event, the JSON batch
-- emit_platform_events, the columnar emit_platform_events_columns and quarantine promotion, which
-- goes through emit_platform_events) calls the same rules, and the batch paths the same writer.
--
-- Before this migration the rules were written three times in SQL (platform_event_check's IF
-- chain in 0003/0046, and the set-based fast paths of 0030 and 0033, each falling back to
-- platform_event_check for the exact error) and the limits appeared five times. Now:
--
--   platform_events_limits()           the limits, once; Python reads the copy `make schema`
--                                      writes to functions/platform_events/limits.json
--   platform_event_current_schema(t)   which version of a type validates new events
--   platform_event_schema_rules(s)     one typed row per key a JSON Schema constrains, kept per
--                                      schema version in the table platform_event_rules
--   platform_events_row_error(...)     the checks of an event's own columns, in order
--   platform_events_rule_broken(...)   which rule of a key a value breaks
--   platform_events_rule_error(...)    the error of a broken rule
--   platform_events_check_rows(...)    all of the above over arrays of events: every path calls it
--   platform_events_emit_rows(...)     check, write (ledger first), answer: both batch functions
--
-- Adding a JSON-Schema keyword is one column in platform_event_schema_rules (and its table), one branch in
-- platform_events_rule_broken and one message in platform_events_rule_error.
--
-- The small functions are LANGUAGE sql without SET clauses so that PostgreSQL inlines them into
-- the set-based query (https://wiki.postgresql.org/wiki/Inlining_of_SQL_functions): a batch
-- evaluates each condition as an expression, not as a function call per event, which is what
-- the hand-inlined fast paths of 0030/0033 bought before. Error codes, fields and messages are
-- exactly those of platform_event_check (tests/integration/test_event_store.py and friends pin
-- them), in its order: event_type, event_data, metadata, occurred_at, JSON values, ids, then the
-- schema's required keys (in the order listed) and its properties (in jsonb key order).

CREATE FUNCTION platform_events_limits()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- event_data_bytes/metadata_bytes: octet_length of the jsonb text; id_chars: user_id and
-- session_id; batch_events: events per batch call; future_seconds: how far occurred_at may be
-- ahead of the server's clock.
RETURN '{"event_data_bytes": 32768, "metadata_bytes": 16384, "id_chars": 255,
         "batch_events": 50000, "future_seconds": 86400}'::jsonb;
COMMENT ON FUNCTION platform_events_limits() IS
    'The limits every emit path enforces; functions/platform_events/limits.json is its copy for Python (make schema).';

-- IMMUTABLE with a constant argument: the planner folds each use to a constant.
CREATE FUNCTION platform_events_limit(p_name text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (platform_events_limits() ->> p_name)::integer;

-- The version of a type that validates new events: its latest active one, else its latest (which
-- is then inactive, and the event is refused as PE002).
CREATE FUNCTION platform_event_current_schema(p_event_type text)
RETURNS SETOF event_schemas
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT s.* FROM event_schemas s
     WHERE s.event_type = p_event_type
     ORDER BY s.is_active DESC, s.version DESC
     LIMIT 1;
END;

-- One row per key a JSON Schema constrains: its place among the required keys and among the
-- properties (the order errors are reported in), and its conditions as typed values. A keyword
-- of the wrong JSON type fails the cast here, loudly, as platform_event_check always did.
CREATE FUNCTION platform_event_schema_rules(p_json_schema jsonb)
RETURNS TABLE(key text, required_at bigint, property_at bigint, want_type text, enum_values jsonb,
              minimum numeric, maximum numeric, max_length integer)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT k.key, k.required_at, k.property_at,
           pr.prop ->> 'type', pr.prop -> 'enum',
           (pr.prop ->> 'minimum')::numeric, (pr.prop ->> 'maximum')::numeric,
           (pr.prop ->> 'maxLength')::integer
      FROM (SELECT u.key, min(u.required_at) AS required_at, min(u.property_at) AS property_at
              FROM (SELECT r.key, r.n AS required_at, NULL::bigint AS property_at
                      FROM jsonb_array_elements_text(coalesce(p_json_schema -> 'required', '[]'::jsonb))
                           WITH ORDINALITY AS r(key, n)
                    UNION ALL
                    SELECT p.key, NULL::bigint, p.n
                      FROM jsonb_object_keys(coalesce(p_json_schema -> 'properties', '{}'::jsonb))
                           WITH ORDINALITY AS p(key, n)) AS u
             GROUP BY u.key) AS k
     CROSS JOIN LATERAL (
           SELECT coalesce(p_json_schema -> 'properties' -> k.key, '{}'::jsonb) AS prop) AS pr;
END;

-- The typed rules of every schema version (platform_event_schema_rules' rows), kept current by
-- a trigger: a check reads a handful of indexed rows instead of taking JSON Schemas apart on
-- every call (a single emit paid 1.7 times its old cost doing that, measured).
CREATE TABLE platform_event_rules (
    event_type  text NOT NULL,
    version     integer NOT NULL,
    key         text NOT NULL,
    required_at bigint,
    property_at bigint,
    want_type   text,
    enum_values jsonb,
    minimum     numeric,
    maximum     numeric,
    max_length  integer,
    PRIMARY KEY (event_type, version, key),
    FOREIGN KEY (event_type, version) REFERENCES event_schemas (event_type, version)
        ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE platform_event_rules IS
    'The rules of each event_schemas row, typed (derived: a trigger on event_schemas keeps it).';

CREATE FUNCTION platform_events_keep_rules()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
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

CREATE TRIGGER event_schemas_keep_rules
AFTER INSERT OR UPDATE OF event_type, version, json_schema ON event_schemas
FOR EACH ROW EXECUTE FUNCTION platform_events_keep_rules();

INSERT INTO platform_event_rules
SELECT s.event_type, s.version, x.*
  FROM event_schemas s
 CROSS JOIN LATERAL platform_event_schema_rules(s.json_schema) AS x;

-- The checks of an event's own columns, first failing one wins; on success the category and
-- version it is stored with. p_category is NULL for a type not in event_schemas.
CREATE FUNCTION platform_events_row_error(
    p_event_type text, p_category text, p_is_active boolean, p_version integer,
    p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamptz,
    p_user_id text, p_session_id text)
RETURNS platform_event_check_result
LANGUAGE sql STABLE
RETURN CASE
    WHEN p_event_type IS NULL OR p_event_type = '' THEN
        ROW('PE001', 'event_type', 'event_type is required', NULL, NULL)::platform_event_check_result
    WHEN p_category IS NULL THEN
        ROW('PE001', 'event_type',
            format('unknown event type %L: it is not in event_schemas', left(p_event_type, 100)),
            NULL, NULL)::platform_event_check_result
    WHEN NOT p_is_active THEN
        ROW('PE002', 'event_type', format('event type %L is no longer active', p_event_type),
            NULL, NULL)::platform_event_check_result
    WHEN p_event_data IS NULL OR jsonb_typeof(p_event_data) <> 'object' THEN
        ROW('PE006', 'event_data', 'event_data must be a JSON object', NULL, NULL)::platform_event_check_result
    WHEN octet_length(p_event_data::text) > platform_events_limit('event_data_bytes') THEN
        ROW('PE004', 'event_data',
            format('event_data is %s bytes, over the %s-byte limit',
                   octet_length(p_event_data::text), platform_events_limit('event_data_bytes')),
            NULL, NULL)::platform_event_check_result
    WHEN p_metadata IS NOT NULL AND jsonb_typeof(p_metadata) <> 'object' THEN
        ROW('PE006', 'metadata', 'metadata must be a JSON object', NULL, NULL)::platform_event_check_result
    WHEN octet_length(coalesce(p_metadata, '{}'::jsonb)::text) > platform_events_limit('metadata_bytes') THEN
        ROW('PE004', 'metadata',
            format('metadata is over the %s-byte limit', platform_events_limit('metadata_bytes')),
            NULL, NULL)::platform_event_check_result
    WHEN NOT platform_events_storable_timestamp(p_occurred_at) THEN
        ROW('PE007', 'occurred_at',
            'occurred_at must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the range every warehouse stores',
            NULL, NULL)::platform_event_check_result
    WHEN p_occurred_at > now() + make_interval(secs => platform_events_limit('future_seconds')) THEN
        ROW('PE007', 'occurred_at', 'occurred_at is more than a day in the future',
            NULL, NULL)::platform_event_check_result
    WHEN platform_events_json_problem(p_event_data) IS NOT NULL THEN
        ROW('PE005', 'event_data', 'event_data ' || platform_events_json_problem(p_event_data),
            NULL, NULL)::platform_event_check_result
    WHEN platform_events_json_problem(p_metadata) IS NOT NULL THEN
        ROW('PE005', 'metadata', 'metadata ' || platform_events_json_problem(p_metadata),
            NULL, NULL)::platform_event_check_result
    WHEN length(p_user_id) > platform_events_limit('id_chars') THEN
        ROW('PE009', 'user_id',
            format('user_id is longer than %s characters', platform_events_limit('id_chars')),
            NULL, NULL)::platform_event_check_result
    WHEN length(p_session_id) > platform_events_limit('id_chars') THEN
        ROW('PE009', 'session_id',
            format('session_id is longer than %s characters', platform_events_limit('id_chars')),
            NULL, NULL)::platform_event_check_result
    ELSE ROW(NULL, NULL, NULL, p_category, p_version)::platform_event_check_result
END;

-- Which rule of its key a value breaks: 'required', 'type', 'enum', 'range', 'length', or NULL.
-- p_value is event_data -> key and p_type its jsonb_typeof, computed once by the caller.
CREATE FUNCTION platform_events_rule_broken(
    p_value jsonb, p_type text, p_required boolean, p_want_type text, p_enum jsonb,
    p_minimum numeric, p_maximum numeric, p_max_length integer)
RETURNS text
LANGUAGE sql STABLE
RETURN CASE
    WHEN p_type IS NULL OR p_type = 'null' THEN CASE WHEN p_required THEN 'required' END
    WHEN p_want_type IS NOT NULL AND p_want_type <> p_type
         AND NOT (p_want_type = 'integer' AND p_type = 'number' AND p_value::numeric % 1 = 0) THEN 'type'
    WHEN p_enum IS NOT NULL AND NOT p_enum @> jsonb_build_array(p_value) THEN 'enum'
    WHEN p_type = 'number' AND (p_value::numeric < p_minimum OR p_value::numeric > p_maximum) THEN 'range'
    WHEN p_type = 'string' AND length(p_value #>> '{}') > p_max_length THEN 'length'
END;

-- The error of a broken rule (platform_events_rule_broken's answer) of event_data.<p_key>.
CREATE FUNCTION platform_events_rule_error(
    p_broken text, p_event_type text, p_key text, p_type text, p_want_type text, p_enum jsonb,
    p_minimum numeric, p_maximum numeric, p_max_length integer)
RETURNS platform_event_check_result
LANGUAGE sql STABLE
RETURN ROW(
    CASE p_broken WHEN 'required' THEN 'PE003' ELSE 'PE005' END,
    'event_data.' || p_key,
    CASE p_broken
        WHEN 'required' THEN format('%s requires event_data.%s', p_event_type, p_key)
        WHEN 'type' THEN format('event_data.%s must be of type %s, got %s', p_key, p_want_type, p_type)
        WHEN 'enum' THEN format('event_data.%s must be one of %s', p_key, p_enum)
        WHEN 'range' THEN format('event_data.%s must be between %s and %s', p_key,
                                 coalesce(p_minimum::text, '-inf'), coalesce(p_maximum::text, 'inf'))
        WHEN 'length' THEN format('event_data.%s is longer than %s characters', p_key, p_max_length)
    END,
    NULL, NULL)::platform_event_check_result;

-- The order a broken rule of an event is reported in (the first wins): required keys missing,
-- in the order the schema lists them, then the properties' rules in jsonb key order.
CREATE FUNCTION platform_events_rule_order(p_broken text, p_required_at bigint, p_property_at bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN p_broken = 'required' THEN p_required_at ELSE 1000000000 + p_property_at END;

-- A user_id that is not the session's own, from a caller that may only emit as itself.
CREATE FUNCTION platform_events_forged_user(p_user_id text, p_trusted boolean, p_session_user text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
RETURN NOT p_trusted AND p_user_id IS NOT NULL AND p_user_id IS DISTINCT FROM p_session_user;

-- Every rule over arrays of events (one element per event, in order): one answer per event,
-- n counting from 1. LANGUAGE sql, STABLE and without SET so that a caller's query inlines it
-- (and a plpgsql caller caches the plan).
CREATE FUNCTION platform_events_check_rows(
    p_event_types text[], p_event_data jsonb[], p_metadata jsonb[], p_occurred_at timestamptz[],
    p_user_ids text[], p_session_ids text[], p_trusted boolean, p_session_user text)
RETURNS TABLE(n integer, error_code text, error_field text, error_message text, category text,
              schema_version integer)
LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH events AS MATERIALIZED (
        SELECT u.n::integer AS n, u.event_type, u.event_data, u.metadata, u.occurred_at,
               u.user_id, u.session_id
          FROM unnest(p_event_types, p_event_data, p_metadata, p_occurred_at, p_user_ids, p_session_ids)
               WITH ORDINALITY AS u(event_type, event_data, metadata, occurred_at, user_id, session_id, n)
    ), schemas AS MATERIALIZED (
        SELECT cs.event_type, cs.version, cs.category, cs.is_active, cs.json_schema
          FROM (SELECT DISTINCT e.event_type FROM events e) AS t
         CROSS JOIN LATERAL platform_event_current_schema(t.event_type) AS cs
    ), rules AS MATERIALIZED (
        SELECT r.*
          FROM schemas sc
          JOIN platform_event_rules r ON r.event_type = sc.event_type AND r.version = sc.version
    ), own AS MATERIALIZED (
        SELECT e.n, e.event_type, e.event_data,
               CASE WHEN platform_events_forged_user(e.user_id, p_trusted, p_session_user)
                    THEN ROW('42501', 'user_id', 'user_id does not match the session user (platform_events.user_id)',
                             NULL, NULL)::platform_event_check_result
                    ELSE platform_events_row_error(e.event_type, sc.category, sc.is_active, sc.version,
                                                   e.event_data, e.metadata, e.occurred_at,
                                                   e.user_id, e.session_id)
               END AS c
          FROM events e
          LEFT JOIN schemas sc ON sc.event_type = e.event_type
    ), values_of AS (
        -- Each value looked up once: OFFSET 0 keeps the planner from inlining v and t into every
        -- condition of platform_events_rule_broken.
        SELECT o.n, o.event_type, r.key, r.required_at, r.property_at, r.want_type, r.enum_values,
               r.minimum, r.maximum, r.max_length,
               o.event_data -> r.key AS v, jsonb_typeof(o.event_data -> r.key) AS t
          FROM own o
          JOIN rules r ON r.event_type = o.event_type
         WHERE (o.c).error_code IS NULL
        OFFSET 0
    ), broken AS (
        SELECT x.*, platform_events_rule_broken(x.v, x.t, x.required_at IS NOT NULL, x.want_type,
                                                x.enum_values, x.minimum, x.maximum, x.max_length) AS kind
          FROM values_of x
        OFFSET 0
    ), first_broken AS (
        SELECT DISTINCT ON (b.n) b.n,
               platform_events_rule_error(b.kind, b.event_type, b.key, b.t, b.want_type, b.enum_values,
                                          b.minimum, b.maximum, b.max_length) AS c
          FROM broken b
         WHERE b.kind IS NOT NULL
         ORDER BY b.n, platform_events_rule_order(b.kind, b.required_at, b.property_at)
    )
    SELECT o.n,
           coalesce((fb.c).error_code, (o.c).error_code),
           coalesce((fb.c).error_field, (o.c).error_field),
           coalesce((fb.c).error_message, (o.c).error_message),
           CASE WHEN fb.n IS NULL THEN (o.c).category END,
           CASE WHEN fb.n IS NULL THEN (o.c).schema_version END
      FROM own o
      LEFT JOIN first_broken fb ON fb.n = o.n
     ORDER BY o.n;
END;

-- The rule check of a single event (platform_events_store, the exact-error path of
-- emit_platform_event): the same functions as platform_events_check_rows, without the batch's
-- set machinery (materialised CTEs cost a single call three times its checks).
CREATE OR REPLACE FUNCTION platform_event_check(
    p_event_type text, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamptz,
    p_user_id text, p_session_id text)
RETURNS platform_event_check_result
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    v_schema event_schemas%ROWTYPE;
    r        platform_event_check_result;
    v_rule   platform_event_check_result;
BEGIN
    SELECT * INTO v_schema FROM platform_event_current_schema(p_event_type);
    r := platform_events_row_error(p_event_type, v_schema.category, v_schema.is_active,
                                   v_schema.version, p_event_data, p_metadata, p_occurred_at,
                                   p_user_id, p_session_id);
    IF r.error_code IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT (platform_events_rule_error(b.kind, p_event_type, b.key, b.t, b.want_type, b.enum_values,
                                       b.minimum, b.maximum, b.max_length)).*
      INTO v_rule
      FROM (SELECT x.*, platform_events_rule_broken(x.v, x.t, x.required_at IS NOT NULL, x.want_type,
                                                    x.enum_values, x.minimum, x.maximum,
                                                    x.max_length) AS kind
              FROM (SELECT ru.*, p_event_data -> ru.key AS v, jsonb_typeof(p_event_data -> ru.key) AS t
                      FROM platform_event_rules ru
                     WHERE ru.event_type = v_schema.event_type AND ru.version = v_schema.version
                    OFFSET 0) AS x
            OFFSET 0) AS b
     WHERE b.kind IS NOT NULL
     ORDER BY platform_events_rule_order(b.kind, b.required_at, b.property_at)
     LIMIT 1;
    IF FOUND THEN
        RETURN v_rule;
    END IF;
    RETURN r;
END;
$$;

-- Check, write and answer a batch (both batch functions): one answer per event, in order. The
-- p_reject_* arrays carry what the caller found while reading its input (a malformed event_id,
-- say); such an event is answered with that error whatever the rules say.
CREATE FUNCTION platform_events_emit_rows(
    p_event_ids uuid[], p_event_types text[], p_event_data jsonb[], p_user_ids text[],
    p_session_ids text[], p_metadata jsonb[], p_occurred_at timestamptz[],
    p_reject_codes text[], p_reject_fields text[], p_reject_messages text[])
RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text,
              error_message text)
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_trusted      boolean := platform_events_caller_is_trusted();
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
    v_count        integer := coalesce(cardinality(p_event_types), 0);
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

    -- 2. Write the valid events; the first occurrence of an event_id in the batch is the one.
    -- Without ON CONFLICT first (the common case, and the cheaper plan); an event_id already in
    -- the ledger rolls that back, and the second statement stores only what the ledger takes.
    BEGIN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
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
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb)
            FROM valid v
        )
        -- Both inserts run to completion whether read or not: every valid event is stored.
        SELECT array_agg(v.n::integer) INTO v_accepted FROM valid v;
    EXCEPTION WHEN unique_violation THEN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
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
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb)
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

-- The columnar batch: the arrays as they come (psycopg's binary arrays), the two payload columns
-- as JSON arrays.
CREATE OR REPLACE FUNCTION emit_platform_events_columns(
    p_event_ids uuid[], p_event_types text[], p_user_ids text[], p_session_ids text[],
    p_occurred_at timestamptz[], p_event_data jsonb, p_metadata jsonb)
RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text,
              error_message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET enable_nestloop = off
SET jit = off
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

-- The JSON batch: each element read leniently (a malformed id or timestamp is that event's error,
-- not the batch's), then the same path as the columnar batch.
CREATE OR REPLACE FUNCTION emit_platform_events(p_events jsonb)
RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text,
              error_message text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
SET enable_nestloop = off
SET jit = off
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

-- The single event's write, through the same check.
CREATE OR REPLACE FUNCTION platform_events_effective_user(p_user_id text, p_trusted boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
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

REVOKE ALL ON FUNCTION platform_events_limits() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_limit(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_event_current_schema(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_event_schema_rules(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_row_error(text, text, boolean, integer, jsonb, jsonb, timestamptz, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_rule_broken(jsonb, text, boolean, text, jsonb, numeric, numeric, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_rule_error(text, text, text, text, text, jsonb, numeric, numeric, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_forged_user(text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_rule_order(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_keep_rules() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_check_rows(text[], jsonb[], jsonb[], timestamptz[], text[], text[], boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_emit_rows(uuid[], text[], jsonb[], text[], text[], jsonb[], timestamptz[], text[], text[], text[]) FROM PUBLIC;
