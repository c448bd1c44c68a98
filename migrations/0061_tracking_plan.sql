-- 0061: the tracking plan. Event types are defined by files (functions/platform_events/event_types,
-- or PLATFORM_EVENTS_CATALOG) that `platform-events catalog apply` writes into event_schemas under
-- the migration lock; the rules of what apply accepts are in platform_events/catalog_changes.py.
--
-- * event_schemas gains the file's owner, a revision (SchemaVer's REVISION-ADDITION: bumped by
--   every compatible edit of a version) and when the row last changed.
-- * A new event is valid when some active version of its type accepts it, and records the newest
--   such version (platform_events.schema_version): events of every active version stay valid
--   while producers move to the new one. When none accepts it the error is the newest active
--   version's. A type without an active version is refused as PE002 (the writers quarantine it,
--   as they do unknown types, until it is active again).
-- * platform_event_current_schema returned SETOF event_schemas, which cannot survive a column
--   added to event_schemas; its callers now read the versions themselves, and it is dropped.

CREATE OR REPLACE FUNCTION platform_events_check_rows(
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
    ), versions AS MATERIALIZED (
        -- Per type: its active versions, and which one is current (the newest active one, else
        -- the newest, which is then inactive and refuses the event as PE002).
        SELECT v.event_type, v.version, v.category, v.is_active,
               v.version = coalesce(v.newest_active, v.newest) AS is_current
          FROM (SELECT s.event_type, s.version, s.category, s.is_active,
                       max(s.version) FILTER (WHERE s.is_active) OVER w AS newest_active,
                       max(s.version) OVER w AS newest
                  FROM event_schemas s
                 WHERE s.event_type IN (SELECT DISTINCT e.event_type FROM events e)
                WINDOW w AS (PARTITION BY s.event_type)) AS v
         WHERE v.is_active OR v.version = coalesce(v.newest_active, v.newest)
    ), rules AS MATERIALIZED (
        SELECT r.*, vs.is_current
          FROM versions vs
          JOIN platform_event_rules r ON r.event_type = vs.event_type AND r.version = vs.version
         WHERE vs.is_active
    ), own AS MATERIALIZED (
        SELECT e.n, e.event_type, e.event_data,
               CASE WHEN platform_events_forged_user(e.user_id, p_trusted, p_session_user)
                    THEN ROW('42501', 'user_id', 'user_id does not match the session user (platform_events.user_id)',
                             NULL, NULL)::platform_event_check_result
                    ELSE platform_events_row_error(e.event_type, vs.category, vs.is_active, vs.version,
                                                   e.event_data, e.metadata, e.occurred_at,
                                                   e.user_id, e.session_id)
               END AS c
          FROM events e
          LEFT JOIN versions vs ON vs.event_type = e.event_type AND vs.is_current
    ), values_of AS (
        -- Each value looked up once per version: OFFSET 0 keeps the planner from inlining v and t
        -- into every condition of platform_events_rule_broken.
        SELECT o.n, o.event_type, r.version, r.is_current, r.key, r.required_at, r.property_at,
               r.want_type, r.enum_values, r.minimum, r.maximum, r.max_length,
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
    ), accepted AS (
        -- The newest active version under which the event breaks no rule.
        SELECT o.n, max(vs.version) AS version
          FROM own o
          JOIN versions vs ON vs.event_type = o.event_type AND vs.is_active
         WHERE (o.c).error_code IS NULL
           AND NOT EXISTS (SELECT 1 FROM broken b
                            WHERE b.n = o.n AND b.version = vs.version AND b.kind IS NOT NULL)
         GROUP BY o.n
    ), first_broken AS (
        SELECT DISTINCT ON (b.n) b.n,
               platform_events_rule_error(b.kind, b.event_type, b.key, b.t, b.want_type, b.enum_values,
                                          b.minimum, b.maximum, b.max_length) AS c
          FROM broken b
         WHERE b.kind IS NOT NULL AND b.is_current
           AND NOT EXISTS (SELECT 1 FROM accepted a WHERE a.n = b.n)
         ORDER BY b.n, platform_events_rule_order(b.kind, b.required_at, b.property_at)
    )
    SELECT o.n,
           coalesce((fb.c).error_code, (o.c).error_code),
           coalesce((fb.c).error_field, (o.c).error_field),
           coalesce((fb.c).error_message, (o.c).error_message),
           CASE WHEN fb.n IS NULL THEN (o.c).category END,
           CASE WHEN fb.n IS NULL THEN coalesce(a.version, (o.c).schema_version) END
      FROM own o
      LEFT JOIN accepted a ON a.n = o.n
      LEFT JOIN first_broken fb ON fb.n = o.n
     ORDER BY o.n;
END;

-- The rule check of a single event: the same functions, version by version from the newest.
CREATE OR REPLACE FUNCTION platform_event_check(
    p_event_type text, p_event_data jsonb, p_metadata jsonb, p_occurred_at timestamptz,
    p_user_id text, p_session_id text)
RETURNS platform_event_check_result
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
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

DROP FUNCTION platform_event_current_schema(text);

ALTER TABLE event_schemas
    ADD COLUMN owner text,
    ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
COMMENT ON COLUMN event_schemas.owner IS 'The team that owns the type (its file''s x-owner).';
COMMENT ON COLUMN event_schemas.revision IS
    'Compatible edits applied to this version (SchemaVer REVISION-ADDITION): every event valid under an earlier revision is valid under this one.';
COMMENT ON TABLE event_schemas IS
    'The event catalogue, written by `platform-events catalog apply` from the tracking plan''s files: one row per type and version.';
