-- 0040: a claim whose cost does not grow with the ledger.
--
-- Profiled on a 200,000-event backlog drained in 1,000-event batches (auto_explain,
-- pg_stat_statements with nested statements, PostgreSQL 18):
-- * the claim UPDATE joined its 1,000 due rows to the ledger with a hash join over a sequential
--   scan of the whole ledger (17 ms at 100,000 rows, ten times that at a million): the rows to
--   update are now named by an id array, which the planner looks up in the primary key;
-- * PL/pgSQL cached generic plans after five calls, planned without knowing the ids or the time
--   range (62-98 ms per claim against 33-47 ms custom); planning each call costs under 1 ms;
-- * recovering expired claims read the (status, received_at) index through every row claimed
--   since the last vacuum (11-18 ms a call, growing with the backlog): the planner picks it for
--   `status = 'processing'` whenever its statistics predate the drain. The expired claims are
--   now found by claimed_at alone (set exactly while an event is processing: every path that
--   leaves 'processing' clears it), in a claimed-at index that only that condition matches,
--   read from the cutoff down.
-- * fetching the claimed events compared each with every claimed id (a nested loop the planner
--   chose on a one-row estimate): 114 ms a batch at a million events; now a probe per id.
-- The contract is 0003's: same arguments, rows, errors and SKIP LOCKED behaviour.
DROP INDEX platform_event_delivery_claimed_idx;
CREATE INDEX platform_event_delivery_claimed_idx ON platform_event_delivery (claimed_at)
    WHERE claimed_at IS NOT NULL;

CREATE OR REPLACE FUNCTION get_pending_events(p_batch_size         integer  DEFAULT 100,
                                              p_visibility_timeout interval DEFAULT interval '5 minutes',
                                              p_max_retries        integer  DEFAULT 3)
RETURNS TABLE (event_id uuid, event_type text, event_category text, schema_version integer,
               user_id text, session_id text, occurred_at timestamptz, received_at timestamptz,
               event_data jsonb, metadata jsonb, retry_count integer)
LANGUAGE plpgsql
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
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
             WHERE s.claimed_at < now() - p_visibility_timeout
             FOR UPDATE SKIP LOCKED) s;
    IF v_stuck IS NOT NULL THEN
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now(),
               last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                                   p_visibility_timeout),
               claimed_at = NULL
         WHERE d.event_id = ANY (v_stuck) AND d.status = 'processing';
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

    -- One primary-key probe per claimed id, within the claimed time range so only the partitions
    -- involved are read. (Joined to the id array instead, the planner expected one row and
    -- compared every fetched row with every id: 114 ms a batch in a million-event partition.)
    RETURN QUERY
    SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
           e.occurred_at, e.received_at, e.event_data, e.metadata, r.retry_count
      FROM unnest(v_ids, v_retries) AS r(event_id, retry_count)
      JOIN LATERAL (SELECT * FROM platform_events p
                     WHERE p.event_id = r.event_id AND p.received_at BETWEEN v_min AND v_max) e ON true
     ORDER BY e.received_at, e.event_id;
END;
$$;
