-- 0032: the ingest quarantine: events of a type the catalogue does not know, kept with the reason.
--
-- ingest_events accepts Segment calls whose event name maps to no event_schemas row into this
-- table instead of rejecting them: a new product event is not lost while its schema is written,
-- and nothing unvalidated reaches platform_events or the warehouse. Operators list it by type,
-- add the schema, and replay (README "Emitting events"). Rows expire after 30 days
-- (purge_platform_events_quarantine) and GDPR erasure must cover user_id here too.

CREATE TABLE platform_events_quarantine (
    event_id      uuid        PRIMARY KEY,
    event_type    text        NOT NULL CHECK (length(event_type) BETWEEN 1 AND 255),
    source_name   text        CHECK (length(source_name) <= 1000),
    reason        text        NOT NULL,
    user_id       text        CHECK (length(user_id) <= 255),
    session_id    text        CHECK (length(session_id) <= 255),
    occurred_at   timestamptz,
    received_at   timestamptz NOT NULL DEFAULT now(),
    event_data    jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (octet_length(event_data::text) <= 32768),
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (octet_length(metadata::text) <= 16384)
);
COMMENT ON TABLE platform_events_quarantine IS
    'Ingested events of unknown types, with the reason; promoted once a schema exists, purged after 30 days.';
CREATE INDEX platform_events_quarantine_type_idx ON platform_events_quarantine (event_type, received_at);
CREATE INDEX platform_events_quarantine_user_idx ON platform_events_quarantine (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX platform_events_quarantine_received_idx ON platform_events_quarantine (received_at);

-- Quarantines a JSON array of events (keys as emit_platform_events, plus reason and source_name);
-- one answer row per input: quarantined, or duplicate when that event_id is already held.
CREATE FUNCTION quarantine_platform_events(p_events jsonb)
RETURNS TABLE (ordinal integer, event_id uuid, status text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET enable_nestloop = off
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

CREATE FUNCTION purge_platform_events_quarantine(p_older_than interval DEFAULT interval '30 days')
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_events_quarantine WHERE received_at < now() - p_older_than;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

GRANT EXECUTE ON FUNCTION quarantine_platform_events(jsonb) TO platform_events_ingest;
GRANT SELECT, INSERT, DELETE ON platform_events_quarantine TO platform_events_pipeline;
GRANT EXECUTE ON FUNCTION quarantine_platform_events(jsonb), purge_platform_events_quarantine(interval)
    TO platform_events_pipeline;
