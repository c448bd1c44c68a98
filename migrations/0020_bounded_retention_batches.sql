-- 0020: apply_data_retention_policy deletes at most p_batch_size events per type per call, as documented.
--
-- The 0004 version put LIMIT on the aggregate (one row), not on the candidate rows, so one call
-- deleted every expired event of a type in a single transaction: 1 million expired events meant one
-- 1-million-row DELETE holding its row locks and WAL until commit. The limit now bounds the
-- candidates; callers still repeat until a call deletes nothing (platform-events retention does).

CREATE OR REPLACE FUNCTION apply_data_retention_policy(p_batch_size integer DEFAULT 5000)
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
        -- Oldest first; the delivery row is locked (SKIP LOCKED: a row a worker or a reprocess
        -- holds is left for the next call) and re-checked as delivered under the lock.
        SELECT array_agg(batch.event_id), min(batch.received_at), max(batch.received_at)
          INTO v_ids, v_min, v_max
          FROM (SELECT d.event_id, d.received_at
                  FROM (SELECT e.event_id
                          FROM platform_events e
                         WHERE e.event_type = v_policy.event_type
                           AND e.occurred_at < now() - v_policy.retention
                         ORDER BY e.occurred_at) candidate
                  JOIN LATERAL (
                        SELECT dd.event_id, dd.received_at FROM platform_event_delivery dd
                         WHERE dd.event_id = candidate.event_id AND dd.status = 'delivered'
                           FOR UPDATE SKIP LOCKED) d ON true
                 LIMIT p_batch_size) batch;
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
