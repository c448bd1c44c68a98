-- 0050: durable delivery batches: a claim fixes its members under a lease fenced by a token.
--
-- Before this, a claim was only a status on each ledger row: after the visibility timeout another
-- worker re-claimed the events while the first could still be writing, and the first worker's
-- late acknowledgement or release could not be told from the second's (issue 13). Now a claim
-- creates a row of platform_event_delivery_batches (the model is procrastinate's job row: one
-- row a worker holds, taken with FOR UPDATE SKIP LOCKED): its members are fixed, its lease has a
-- token and an expiry, and settle_delivery_batch / the checkpoint statements apply only with
-- the current token (SQLSTATE PE050 otherwise: the caller learns it lost the lease). A batch whose
-- lease ran out (holder died, was slow, gave it back for later, or was fenced by an erasure) is
-- re-claimed as the same batch: same batch_id (the warehouse load_id), same members, checkpoint
-- kept, a new token. The batch row is deleted once every member is settled.
--
-- Cost: one more small row written and deleted per batch; the claim stays one statement and the
-- ledger rows are still named by an id array (0040). The batch table holds only what is in flight.

CREATE TABLE platform_event_delivery_batches (
    batch_id         uuid        PRIMARY KEY,
    event_ids        uuid[]      NOT NULL,
    received_lo      timestamptz NOT NULL,
    received_hi      timestamptz NOT NULL,
    lease_token      uuid        NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    holder           text        CHECK (length(holder) <= 200),
    attempt          integer     NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    checkpoint       jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(checkpoint) = 'object'),
    last_error       text,
    fenced_reason    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
COMMENT ON TABLE platform_event_delivery_batches IS
    'Delivery batches in flight: fixed members, a lease (token, expiry, holder; holder NULL = given back until lease_expires_at), the sink''s write checkpoint. batch_id is the warehouse load_id.';
CREATE INDEX platform_event_delivery_batches_lease_idx
    ON platform_event_delivery_batches (lease_expires_at);

-- The batch holding a ledger row while it is processing (NULL otherwise, and for claims made by
-- get_pending_events, which keep their per-row visibility timeout).
ALTER TABLE platform_event_delivery ADD COLUMN batch_id uuid;

-- Which durable batch each sync (one attempt at a batch) was: the rows' load_id in the warehouse.
ALTER TABLE warehouse_sync_status ADD COLUMN batch_id uuid;

-- Expired per-row claims are only those of get_pending_events: a batch member's claim never
-- expires by claimed_at (its batch's lease does), so the index leaves them out.
DROP INDEX platform_event_delivery_claimed_idx;
CREATE INDEX platform_event_delivery_claimed_idx ON platform_event_delivery (claimed_at)
    WHERE claimed_at IS NOT NULL AND batch_id IS NULL;

-- Why streaming holds events back: per warehouse, the state the last batch left (ok, unavailable,
-- throttled, misconfigured), since when it fails and with what. A held batch waits until
-- retry_at; the stream does not call a failing sink before then.
CREATE TABLE platform_event_sink_health (
    warehouse            text        PRIMARY KEY CHECK (warehouse IN ('duckdb', 'bigquery', 'redshift')),
    state                text        NOT NULL DEFAULT 'ok'
                         CHECK (state IN ('ok', 'unavailable', 'throttled', 'misconfigured')),
    last_error           text,
    failing_since        timestamptz,
    last_failure_at      timestamptz,
    consecutive_failures integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    retry_at             timestamptz,
    recovered_at         timestamptz
);
COMMENT ON TABLE platform_event_sink_health IS
    'Per warehouse: whether streaming can write to it, and since when it cannot (pipeline_status shows it).';

-- 0040's claim, unchanged but for leaving batch members to their batch's lease.
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
             WHERE s.claimed_at < now() - p_visibility_timeout AND s.batch_id IS NULL
             FOR UPDATE SKIP LOCKED) s;
    IF v_stuck IS NOT NULL THEN
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now(),
               last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                                   p_visibility_timeout),
               claimed_at = NULL
         WHERE d.event_id = ANY (v_stuck) AND d.status = 'processing' AND d.batch_id IS NULL;
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

    RETURN QUERY
    SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
           e.occurred_at, e.received_at, e.event_data, e.metadata, r.retry_count
      FROM unnest(v_ids, v_retries) AS r(event_id, retry_count)
      JOIN LATERAL (SELECT * FROM platform_events p
                     WHERE p.event_id = r.event_id AND p.received_at BETWEEN v_min AND v_max) e ON true
     ORDER BY e.received_at, e.event_id;
END;
$$;

-- The per-row acknowledgement of get_pending_events' claims: a batch member is settled only by
-- its batch (with the lease token), so a caller of this form cannot settle it behind the holder.
CREATE OR REPLACE FUNCTION mark_event_processed(p_event_ids   uuid[],
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
         WHERE d.event_id = ANY (p_event_ids) AND d.status <> 'delivered' AND d.batch_id IS NULL;
    ELSE
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now() + platform_events_backoff(d.retry_count + 1, p_backoff),
               last_error = left(coalesce(p_error, 'unknown error'), 2000),
               claimed_at = NULL
         WHERE d.event_id = ANY (p_event_ids) AND d.status = 'processing' AND d.batch_id IS NULL;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Claims one batch for p_holder under a lease of p_lease, in one statement: first a batch whose
-- lease ran out (the same batch again, attempt + 1, a new token; members still in it, the
-- checkpoint kept), else up to p_batch_size due events as a new batch. Expired per-row claims of
-- get_pending_events are recovered on the way, as it does. Every row carries the batch's id,
-- token and attempt; a member whose event row is missing comes back with NULL columns (the
-- caller fails it with its own error instead of losing it or stalling the batch).
CREATE FUNCTION claim_delivery_batch(p_batch_size  integer,
                                     p_lease       interval,
                                     p_max_retries integer,
                                     p_holder      text)
RETURNS TABLE (batch_id uuid, lease_token uuid, attempt integer, event_id uuid, event_type text,
               event_category text, schema_version integer, user_id text, session_id text,
               occurred_at timestamptz, received_at timestamptz, event_data jsonb, metadata jsonb,
               retry_count integer)
LANGUAGE plpgsql
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_batch   uuid;
    v_token   uuid := gen_random_uuid();
    v_attempt integer := 1;
    v_members uuid[];
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
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = '22023', COLUMN = 'lease';
    END IF;

    LOOP
        v_batch := NULL;
        UPDATE platform_event_delivery_batches b
           SET lease_token = v_token, lease_expires_at = now() + p_lease, holder = p_holder,
               attempt = b.attempt + 1, claimed_at = now()
         WHERE b.batch_id = (SELECT x.batch_id FROM platform_event_delivery_batches x
                              WHERE x.lease_expires_at <= now()
                              ORDER BY x.lease_expires_at
                              LIMIT 1
                              FOR UPDATE SKIP LOCKED)
        RETURNING b.batch_id, b.attempt, b.event_ids, b.received_lo, b.received_hi
             INTO v_batch, v_attempt, v_members, v_min, v_max;
        EXIT WHEN v_batch IS NULL;
        SELECT array_agg(d.event_id ORDER BY d.event_id), array_agg(d.retry_count ORDER BY d.event_id)
          INTO v_ids, v_retries
          FROM unnest(v_members) AS m(event_id)
          JOIN platform_event_delivery d ON d.event_id = m.event_id
         WHERE d.batch_id = v_batch AND d.status = 'processing';
        EXIT WHEN v_ids IS NOT NULL;
        -- Nothing left in it (cannot happen through settle_delivery_batch): drop it, look again.
        DELETE FROM platform_event_delivery_batches b WHERE b.batch_id = v_batch;
    END LOOP;

    IF v_batch IS NULL THEN
        v_attempt := 1;
        SELECT array_agg(s.event_id) INTO v_stuck
          FROM (SELECT s.event_id FROM platform_event_delivery s
                 WHERE s.claimed_at < now() - p_lease AND s.batch_id IS NULL
                 FOR UPDATE SKIP LOCKED) s;
        IF v_stuck IS NOT NULL THEN
            UPDATE platform_event_delivery d
               SET retry_count = d.retry_count + 1,
                   status = CASE WHEN d.retry_count + 1 >= p_max_retries THEN 'failed' ELSE 'pending' END,
                   next_attempt_at = now(),
                   last_error = format('claim expired after %s without acknowledgement (worker died or timed out)',
                                       p_lease),
                   claimed_at = NULL
             WHERE d.event_id = ANY (v_stuck) AND d.status = 'processing' AND d.batch_id IS NULL;
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
        v_batch := gen_random_uuid();
        WITH claimed AS (
            UPDATE platform_event_delivery d
               SET status = 'processing', claimed_at = now(), batch_id = v_batch
             WHERE d.event_id = ANY (v_due)
            RETURNING d.event_id, d.received_at, d.retry_count
        )
        SELECT array_agg(c.event_id), array_agg(c.retry_count), min(c.received_at), max(c.received_at)
          INTO v_ids, v_retries, v_min, v_max
          FROM claimed c;
        INSERT INTO platform_event_delivery_batches
               (batch_id, event_ids, received_lo, received_hi, lease_token, lease_expires_at, holder)
        VALUES (v_batch, v_ids, v_min, v_max, v_token, now() + p_lease, p_holder);
    END IF;

    -- One primary-key probe per member within the batch's time range (0040).
    RETURN QUERY
    SELECT v_batch, v_token, v_attempt, r.event_id, e.event_type, e.event_category,
           e.schema_version, e.user_id, e.session_id, e.occurred_at, e.received_at, e.event_data,
           e.metadata, r.retry_count
      FROM unnest(v_ids, v_retries) AS r(event_id, retry_count)
      LEFT JOIN LATERAL (SELECT * FROM platform_events p
                          WHERE p.event_id = r.event_id
                            AND p.received_at BETWEEN v_min AND v_max) e ON true
     ORDER BY e.received_at, r.event_id;
END;
$$;

-- Settles what the holder of batch p_batch_id (lease p_lease_token) did with it, atomically:
-- p_delivered acknowledged; p_released back with an attempt spent (retry_count + 1, backed off,
-- failed after p_max_retries, or at once where p_final says the event can never be delivered),
-- each with its own error; the sink's health recorded (p_sink_state: ok, unavailable, throttled,
-- misconfigured; NULL: not written, health left as it is). With p_hold the members left in the
-- batch stay in it, given back until a backed-off retry time (no attempt spent: the sink, not the
-- events, failed), which the sink's health row keeps too; otherwise the batch is done and deleted. A stale holder (token changed or batch gone) changes nothing: PE050.
-- Answers the time the held batch is due again (NULL when the batch is done).
CREATE FUNCTION settle_delivery_batch(p_batch_id    uuid,
                                      p_lease_token uuid,
                                      p_delivered   uuid[],
                                      p_released    uuid[],
                                      p_errors      text[],
                                      p_final       boolean[],
                                      p_max_retries integer,
                                      p_backoff     interval,
                                      p_hold        boolean,
                                      p_sink        text,
                                      p_sink_state  text,
                                      p_sink_error  text,
                                      p_hold_base   interval,
                                      p_hold_max    interval)
RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_token    uuid;
    v_failures integer := 0;
    v_due      timestamptz;
BEGIN
    IF p_sink_state NOT IN ('ok', 'unavailable', 'throttled', 'misconfigured') THEN
        RAISE EXCEPTION 'sink state must be ok, unavailable, throttled, misconfigured or NULL'
            USING ERRCODE = '22023', COLUMN = 'sink_state';
    END IF;
    SELECT b.lease_token INTO v_token
      FROM platform_event_delivery_batches b WHERE b.batch_id = p_batch_id FOR UPDATE;
    IF v_token IS NULL OR v_token <> p_lease_token THEN
        RAISE EXCEPTION 'the lease of delivery batch % passed to another worker', p_batch_id
            USING ERRCODE = 'PE050', HINT = 'nothing was changed; stop working on this batch';
    END IF;

    IF cardinality(p_delivered) > 0 THEN
        UPDATE platform_event_delivery d
           SET status = 'delivered', processed_at = now(), last_error = NULL, claimed_at = NULL,
               batch_id = NULL
         WHERE d.event_id = ANY (p_delivered) AND d.batch_id = p_batch_id;
    END IF;
    IF cardinality(p_released) > 0 THEN
        UPDATE platform_event_delivery d
           SET retry_count = d.retry_count + 1,
               status = CASE WHEN r.final OR d.retry_count + 1 >= p_max_retries THEN 'failed'
                             ELSE 'pending' END,
               next_attempt_at = now() + platform_events_backoff(d.retry_count + 1, p_backoff),
               last_error = left(coalesce(r.error, 'unknown error'), 2000),
               claimed_at = NULL,
               batch_id = NULL
          FROM unnest(p_released, p_errors, p_final) AS r(event_id, error, final)
         WHERE d.event_id = r.event_id AND d.batch_id = p_batch_id;
    END IF;

    IF p_sink_state IS NULL THEN
        NULL;  -- a batch given back unwritten: the sink's health is what the last write left
    ELSIF p_sink_state = 'ok' THEN
        -- A no-op (and no lock) while the sink is healthy, which is nearly always.
        UPDATE platform_event_sink_health h
           SET state = 'ok', consecutive_failures = 0, retry_at = NULL, recovered_at = now()
         WHERE h.warehouse = p_sink AND h.state <> 'ok';
    ELSE
        INSERT INTO platform_event_sink_health AS h
               (warehouse, state, last_error, failing_since, last_failure_at, consecutive_failures)
        VALUES (p_sink, p_sink_state, left(p_sink_error, 2000), now(), now(), 1)
        ON CONFLICT (warehouse) DO UPDATE
           SET state = excluded.state, last_error = excluded.last_error,
               failing_since = CASE WHEN h.state = 'ok' THEN now() ELSE h.failing_since END,
               last_failure_at = now(),
               consecutive_failures = h.consecutive_failures + 1
        RETURNING h.consecutive_failures INTO v_failures;
    END IF;

    IF p_hold AND p_sink_state IS NULL THEN
        -- Due when the sink is tried again, or at once when it is healthy.
        v_due := coalesce((SELECT h.retry_at FROM platform_event_sink_health h
                            WHERE h.warehouse = p_sink AND h.state <> 'ok'), now());
    ELSIF p_hold THEN
        v_due := now() + CASE WHEN v_failures = 0 THEN interval '0'
                              ELSE least(p_hold_base * power(2, least(v_failures - 1, 20))::double precision,
                                         p_hold_max) * (0.5 + random() / 2) END;
    END IF;
    IF p_hold THEN
        UPDATE platform_event_delivery_batches b
           SET lease_token = gen_random_uuid(), holder = NULL, lease_expires_at = v_due,
               last_error = coalesce(left(p_sink_error, 2000), b.last_error)
         WHERE b.batch_id = p_batch_id;
        IF p_sink_state <> 'ok' THEN  -- (NULL: left as it is)
            UPDATE platform_event_sink_health h SET retry_at = v_due WHERE h.warehouse = p_sink;
        END IF;
    ELSE
        DELETE FROM platform_event_delivery_batches b WHERE b.batch_id = p_batch_id;
    END IF;
    RETURN v_due;
END;
$$;

-- Erasure (anonymize_user_events, or any other UPDATE of stored events) fences the batches that
-- hold a changed event: a new token and an expired lease, so the holder's next fenced step
-- (checkpoint save, settle) fails with PE050 and the batch is re-claimed and re-read from the
-- anonymized rows. Without it a write of the clear copy that lands after the warehouse erasure
-- would bring the erased fields back. Events are immutable otherwise (0001), so this runs only
-- for erasures.
CREATE FUNCTION platform_events_fence_changed_batches()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE platform_event_delivery_batches b
       SET lease_token = gen_random_uuid(), lease_expires_at = '-infinity',
           fenced_reason = 'an event of the batch changed while in flight (erasure)'
     WHERE b.batch_id IN (SELECT d.batch_id
                            FROM platform_events_changed c
                            JOIN platform_event_delivery d ON d.event_id = c.event_id
                           WHERE d.batch_id IS NOT NULL);
    RETURN NULL;
END;
$$;

CREATE TRIGGER platform_events_fence_in_flight
    AFTER UPDATE ON platform_events
    REFERENCING NEW TABLE AS platform_events_changed
    FOR EACH STATEMENT EXECUTE FUNCTION platform_events_fence_changed_batches();

REVOKE ALL ON FUNCTION claim_delivery_batch(integer, interval, integer, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION settle_delivery_batch(uuid, uuid, uuid[], uuid[], text[], boolean[], integer,
                                             interval, boolean, text, text, text, interval, interval)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_fence_changed_batches() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_delivery_batch(integer, interval, integer, text)
    TO platform_events_pipeline;
GRANT EXECUTE ON FUNCTION settle_delivery_batch(uuid, uuid, uuid[], uuid[], text[], boolean[], integer,
                                                interval, boolean, text, text, text, interval, interval)
    TO platform_events_pipeline;
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_event_delivery_batches, platform_event_sink_health
    TO platform_events_pipeline;
