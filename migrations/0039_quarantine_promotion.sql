-- 0039: promote quarantined events once their type has a schema.
--
-- ingest_events quarantines events whose type event_schemas does not know (0032). When the schema
-- is added, promote_quarantined_events moves them into platform_events through
-- emit_platform_events (the same validation, idempotency and answers as every other path): the
-- accepted and the duplicate leave the quarantine, the rejected stay with the validation error as
-- their new reason, for an operator to read. Events keep their event_id (so a promotion repeated
-- after a crash answers duplicate) and their occurred_at; the time they were first received is
-- kept in metadata.quarantined_at, since received_at is the store's clock at emit.
--
-- Bounded: at most p_limit rows per call, oldest first, after the keyset position (p_after,
-- p_after_id) when given; every answer row carries the position of the call's last row, so the
-- caller walks the whole quarantine past the events that stay rejected. Safe beside another
-- promotion (SKIP LOCKED).

CREATE FUNCTION promote_quarantined_events(p_event_type text DEFAULT NULL,
                                           p_limit integer DEFAULT 10000,
                                           p_after timestamptz DEFAULT NULL,
                                           p_after_id uuid DEFAULT NULL)
RETURNS TABLE (event_type text, accepted integer, duplicate integer, rejected integer,
               last_received_at timestamptz, last_event_id uuid)
LANGUAGE plpgsql
SET search_path = public, pg_temp
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

COMMENT ON FUNCTION promote_quarantined_events(text, integer, timestamptz, uuid) IS
    'Moves quarantined events whose type now has an active schema into platform_events (oldest first, at most p_limit).';

GRANT EXECUTE ON FUNCTION promote_quarantined_events(text, integer, timestamptz, uuid) TO platform_events_pipeline;
-- The promotion locks the rows it picks (FOR UPDATE) and rewrites the reason of those still invalid.
GRANT UPDATE (reason) ON platform_events_quarantine TO platform_events_pipeline;
