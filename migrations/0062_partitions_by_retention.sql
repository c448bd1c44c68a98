-- 0062: the event store at 10,000 events/s for years. Two parts of the 0001 layout grew with
-- history instead of with the work: retention deleted rows (a month held every retention, so only
-- the longest could drop it), and the delivery ledger kept a row per event forever.
--
-- platform_events: RANGE by month of received_at, then LIST by retention class.
--   Each leaf (platform_events_YYYY_MM_r<label>, e.g. platform_events_2026_12_r1y) holds the events
--   of one month and one retention, the type's retention when the event was stored (the new column
--   `retention_class`: the interval as text, '1 year', so that no client's reading of an interval,
--   psycopg's 365 days for '1 year', can send a row to another class). A leaf expires whole once range_end + its retention + the 1-day future limit has
--   passed (no event in it can then be unexpired) and none of its events is undelivered: it is
--   DETACHed and DROPped (platform_events_detach_partition / platform_events_drop_retired_partition).
--   Why month first, then class (and not class, then month): the parent of an expiring leaf is a
--   month that ended at least a year ago, which no INSERT touches (received_at is the server's
--   clock), so its ACCESS EXCLUSIVE lock never waits for or stalls ingest. That is why the detach
--   is not CONCURRENTLY: CONCURRENTLY cannot run inside a transaction block, so not inside a
--   SECURITY DEFINER function, and the pipeline role would need the tables' owner to run it.
--   Only a month emptied of all its leaves is detached from the hot top-level table, with a
--   5 ms lock timeout (platform_events_drop_empty_months).
--   Rows are deleted one by one in only two cases (apply_data_retention_policy, bounded batches):
--   late arrivals (occurred_at before the month they were received in: imports, offline clients),
--   and the events of a type whose retention was shortened after they were stored. A type whose
--   retention was lengthened has its events moved to the longer class before a leaf is dropped.
--   The model is pg_partman's retention (drop the child table once its range is past) and
--   TimescaleDB's drop_chunks; like theirs, retention is enforced at partition granularity: an
--   event lives at most one month (its leaf's range) and a day past its retention.
--
-- platform_event_delivery: a ring of three weekly ledger slots plus a held slot (LIST by
--   ledger_slot). The idempotency on event_id holds for the dedupe window (7 days,
--   platform_events_limits()): an event is refused as a duplicate when its id is in the current
--   week's slot (the primary key (event_id, ledger_slot)) or in the previous week's (checked by
--   the emit). The slot of the week before that is recycled by TRUNCATE
--   (platform_events_recycle_ledger) once its undelivered rows are moved to the held slot, where
--   they live until delivered: delivery state lives only as long as it is needed. An event with no
--   ledger row is delivered. Past the window the same event re-sent (same id and occurred_at) is
--   still a duplicate, found in platform_events by id within the span it can have been received
--   in (only late arrivals search at all); an id re-sent with another occurred_at after the
--   window is a new event.
--
-- Existing data is moved in place: every month of the 0001 layout is copied into its classes,
-- the ledger keeps the rows of the window and every undelivered one.

-- ---------------------------------------------------------------------------------- constants

CREATE OR REPLACE FUNCTION platform_events_limits()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- event_data_bytes/metadata_bytes: octet_length of the jsonb text; id_chars: user_id and
-- session_id; batch_events: events per batch call; future_seconds: how far occurred_at may be
-- ahead of the server's clock; dedupe_window_days: how long an event_id is refused as a
-- duplicate (also the length of a ledger slot).
RETURN '{"event_data_bytes": 32768, "metadata_bytes": 16384, "id_chars": 255,
         "batch_events": 50000, "future_seconds": 86400, "dedupe_window_days": 7}'::jsonb;

-- The ledger slot (0, 1 or 2) of the dedupe-window-long period a moment falls in; periods start
-- on Monday 1970-01-05 00:00 UTC. Built of immutable parts only (timestamptz minus timestamptz,
-- the epoch of an interval), so that the planner inlines it: evaluated as a function call per
-- row, in the ledger's CHECK, it tripled the cost of every ledger write.
CREATE FUNCTION platform_events_ledger_slot(p_at timestamptz)
RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (((floor(extract(epoch FROM p_at - timestamptz '1970-01-05 00:00:00+00')
                / (platform_events_limit('dedupe_window_days') * 86400))::bigint % 3) + 3) % 3)::smallint;

-- Where undelivered ledger rows older than the window live.
CREATE FUNCTION platform_events_held_slot()
RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 3::smallint;

-- A retention as it appears in partition names: 1y, 18m, 90d, or seconds.
CREATE FUNCTION platform_events_retention_label(p_retention interval)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN extract(day FROM p_retention) = 0 AND date_part('epoch', p_retention - date_trunc('day', p_retention)) = 0
         AND (extract(year FROM p_retention) * 12 + extract(month FROM p_retention)) % 12 = 0
        THEN ((extract(year FROM p_retention) * 12 + extract(month FROM p_retention)) / 12)::bigint || 'y'
    WHEN extract(day FROM p_retention) = 0 AND date_part('epoch', p_retention - date_trunc('day', p_retention)) = 0
        THEN (extract(year FROM p_retention) * 12 + extract(month FROM p_retention))::bigint || 'm'
    WHEN extract(year FROM p_retention) = 0 AND extract(month FROM p_retention) = 0
         AND date_part('epoch', p_retention - date_trunc('day', p_retention)) = 0
        THEN extract(day FROM p_retention)::bigint || 'd'
    ELSE extract(epoch FROM p_retention)::bigint || 's' END;

-- The retention of each type: every version has the same (catalog_files.py), the newest wins.
CREATE FUNCTION platform_events_type_retention(p_event_type text)
RETURNS interval
LANGUAGE sql STABLE
SET search_path = public, pg_temp
RETURN (SELECT s.retention FROM event_schemas s WHERE s.event_type = p_event_type
         ORDER BY s.version DESC LIMIT 1);

-- ------------------------------------------------------------ the old layout, out of the way

DROP VIEW platform_events_with_status;
DROP VIEW platform_event_partitions;
DROP VIEW platform_events_retired_partitions;
DROP FUNCTION platform_events_range_expired(timestamptz, timestamptz);

DO $$
DECLARE
    v_part record;
BEGIN
    FOR v_part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'platform_events'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', v_part.relname,
                       'pe0061_' || substr(v_part.relname, length('platform_events_') + 1));
    END LOOP;
END;
$$;
ALTER TABLE platform_events RENAME TO platform_events_0061;
ALTER TABLE platform_events_0061 DROP CONSTRAINT platform_events_pkey;
DROP INDEX platform_events_event_data_idx, platform_events_type_idx, platform_events_occurred_at_idx,
           platform_events_received_at_brin, platform_events_session_idx, platform_events_user_idx;
DROP TRIGGER platform_events_fence_in_flight ON platform_events_0061;

ALTER TABLE platform_event_delivery RENAME TO platform_event_delivery_0061;
ALTER TABLE platform_event_delivery_0061 DROP CONSTRAINT platform_event_delivery_pkey;
DROP INDEX platform_event_delivery_claimed_idx, platform_event_delivery_due_idx,
           platform_event_delivery_failed_idx, platform_event_delivery_status_time_idx;

-- ------------------------------------------------------------------------ the new event store

CREATE TABLE platform_events (
    event_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    event_type     text NOT NULL,
    event_category text NOT NULL,
    schema_version integer NOT NULL,
    user_id        text,
    session_id     text,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    received_at    timestamptz NOT NULL DEFAULT now(),
    event_data     jsonb NOT NULL DEFAULT '{}'::jsonb,
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
    retention_class text NOT NULL
) PARTITION BY RANGE (received_at);
COMMENT ON TABLE platform_events IS
    'Every accepted event: partitioned by month of received_at (server clock), each month by retention class (the type''s retention when stored), so retention drops whole partitions. Delivery state is in platform_event_delivery.';
COMMENT ON COLUMN platform_events.retention_class IS
    'The type''s retention when the event was stored (the interval''s text, e.g. 1 year): its partition''s class.';
-- Rows outside every month (partition maintenance stopped): all classes, expired by row.
CREATE TABLE platform_events_default PARTITION OF platform_events DEFAULT;

ALTER TABLE platform_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_reads_own_events ON platform_events FOR SELECT TO platform_events_app
    USING (user_id IS NOT NULL AND user_id = nullif(current_setting('platform_events.user_id', true), ''));
CREATE POLICY pipeline_manages_events ON platform_events TO platform_events_pipeline
    USING (true) WITH CHECK (true);
GRANT SELECT ON platform_events TO platform_events_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_events TO platform_events_pipeline;

-- The leaf of one month and one class, created when missing (its month table too); its name.
CREATE FUNCTION platform_events_ensure_leaf(p_month date, p_retention interval)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_month_name text := format('platform_events_%s', to_char(p_month, 'YYYY_MM'));
    v_leaf       text := format('platform_events_%s_r%s', to_char(p_month, 'YYYY_MM'),
                                platform_events_retention_label(p_retention));
    v_from       timestamptz := p_month::timestamp AT TIME ZONE 'UTC';
    v_to         timestamptz := (p_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF p_month IS NULL OR p_month <> date_trunc('month', p_month)::date OR p_retention IS NULL
       OR p_retention <= interval '0' THEN
        RAISE EXCEPTION 'a leaf needs the first day of a month and a positive retention'
            USING ERRCODE = '22023';
    END IF;
    IF to_regclass(v_month_name) IS NULL THEN
        IF EXISTS (SELECT 1 FROM platform_events_default d
                    WHERE d.received_at >= v_from AND d.received_at < v_to) THEN
            -- Events that arrived while the month was missing: the month is built beside the
            -- table, filled from the default partition, then attached.
            EXECUTE format('CREATE TABLE %I (LIKE platform_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
                           'PARTITION BY LIST (retention_class)', v_month_name);
            PERFORM platform_events_create_leaves(v_month_name, p_month,
                ARRAY(SELECT DISTINCT d.retention_class::interval FROM platform_events_default d
                       WHERE d.received_at >= v_from AND d.received_at < v_to
                      UNION SELECT p_retention));
            EXECUTE format('WITH moved AS (DELETE FROM platform_events_default
                                            WHERE received_at >= %L AND received_at < %L RETURNING *)
                            INSERT INTO %I SELECT * FROM moved', v_from, v_to, v_month_name);
            EXECUTE format('ALTER TABLE platform_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           v_month_name, v_from, v_to);
        ELSE
            EXECUTE format('CREATE TABLE %I PARTITION OF platform_events FOR VALUES FROM (%L) TO (%L) '
                           'PARTITION BY LIST (retention_class)', v_month_name, v_from, v_to);
        END IF;
        RETURN NEXT v_month_name;
    END IF;
    RETURN QUERY SELECT * FROM platform_events_create_leaves(v_month_name, p_month, ARRAY[p_retention]);
END;
$$;

-- The missing leaves of a month table, one per retention; their names.
CREATE FUNCTION platform_events_create_leaves(p_month_name text, p_month date, p_retentions interval[])
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_retention interval;
    v_leaf      text;
BEGIN
    FOREACH v_retention IN ARRAY p_retentions LOOP
        v_leaf := format('platform_events_%s_r%s', to_char(p_month, 'YYYY_MM'),
                         platform_events_retention_label(v_retention));
        -- A leaf of an equal interval spelled otherwise ('12 mons') has the same label.
        CONTINUE WHEN to_regclass(v_leaf) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', v_leaf, p_month_name,
                       v_retention::text);
        RETURN NEXT v_leaf;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION platform_events_create_leaves(text, date, interval[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ensure_platform_event_partitions(p_months_ahead integer DEFAULT 3,
                                                            p_months_back integer DEFAULT 1)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_first date := date_trunc('month', now() AT TIME ZONE 'UTC')::date
                    - make_interval(months => p_months_back);
    v_month date;
    v_retention interval;
BEGIN
    IF p_months_ahead < 0 OR p_months_ahead > 120 OR p_months_back < 0 OR p_months_back > 1200 THEN
        RAISE EXCEPTION 'months ahead must be 0..120 and months back 0..1200'
            USING ERRCODE = '22023';
    END IF;
    -- Serialise concurrent maintenance runs; ingest is never blocked by this lock.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_platform_event_partitions'));
    FOR i IN 0 .. p_months_back + p_months_ahead LOOP
        v_month := v_first + make_interval(months => i);
        FOR v_retention IN SELECT DISTINCT s.retention FROM event_schemas s ORDER BY 1 LOOP
            RETURN QUERY SELECT * FROM platform_events_ensure_leaf(v_month, v_retention);
        END LOOP;
    END LOOP;
END;
$$;

-- A new retention (a type added or its retention changed by `catalog apply`) gets its leaves in
-- every month that exists from last month on, in the same transaction: an event is never refused
-- for want of a partition.
CREATE FUNCTION platform_events_leaves_for_retention()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_month date;
BEGIN
    FOR v_month IN
        SELECT DISTINCT date_trunc('month', p.range_start AT TIME ZONE 'UTC')::date
          FROM platform_event_months p
         WHERE p.range_end > date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month'
    LOOP
        PERFORM platform_events_ensure_leaf(v_month, NEW.retention);
    END LOOP;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION platform_events_leaves_for_retention() FROM PUBLIC;
CREATE TRIGGER event_schemas_retention_leaves
    AFTER INSERT OR UPDATE OF retention ON event_schemas
    FOR EACH ROW EXECUTE FUNCTION platform_events_leaves_for_retention();

-- The month tables (partitions of platform_events) and the leaves (month x class).
CREATE VIEW platform_event_months AS
SELECT c.relname::text AS partition_name,
       pg_get_expr(c.relpartbound, c.oid) AS bounds,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS range_start,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS range_end,
       c.relkind = 'p' AS by_retention
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'platform_events'::regclass;
GRANT SELECT ON platform_event_months TO platform_events_pipeline;

CREATE VIEW platform_event_partitions AS
SELECT c.relname::text AS partition_name,
       pg_get_expr(c.relpartbound, c.oid) AS bounds,
       m.range_start,
       m.range_end,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']+)''\)'))[1]::interval AS retention,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']+)''\)'))[1] AS retention_class,
       m.partition_name AS month_name
  FROM platform_event_months m
  JOIN pg_inherits i ON i.inhparent = m.partition_name::regclass
  JOIN pg_class c ON c.oid = i.inhrelid
 WHERE m.by_retention;
COMMENT ON VIEW platform_event_partitions IS
    'The leaves of platform_events: one month of received_at and one retention class each.';
GRANT SELECT ON platform_event_partitions TO platform_events_pipeline;

-- Every month the old table held (and the months around today), with a leaf per class.
SELECT count(*) FROM (
    SELECT platform_events_ensure_leaf(m.month, r.retention)
      FROM (SELECT DISTINCT date_trunc('month', o.received_at AT TIME ZONE 'UTC')::date AS month
              FROM platform_events_0061 o
            UNION
            SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => k))::date
              FROM generate_series(-1, 3) AS k) m
     CROSS JOIN (SELECT DISTINCT s.retention FROM event_schemas s) r
     ORDER BY m.month
) created;

-- An event's class is its type's retention now (the newest version's); a type the catalogue no
-- longer knows keeps the longest.
INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id, session_id,
                             occurred_at, received_at, event_data, metadata, retention_class)
SELECT o.event_id, o.event_type, o.event_category, o.schema_version, o.user_id, o.session_id,
       o.occurred_at, o.received_at, o.event_data, o.metadata,
       coalesce(p.retention, (SELECT max(s.retention) FROM event_schemas s), interval '7 years')::text
  FROM platform_events_0061 o
  LEFT JOIN (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
               FROM event_schemas s ORDER BY s.event_type, s.version DESC) p
         ON p.event_type = o.event_type;
DROP TABLE platform_events_0061;

-- Indexes after the copy (one sort per leaf, not a row-by-row build).
ALTER TABLE platform_events ADD CONSTRAINT platform_events_pkey PRIMARY KEY (event_id, received_at, retention_class);
CREATE INDEX platform_events_event_data_idx ON platform_events USING gin (event_data jsonb_path_ops);
CREATE INDEX platform_events_type_idx ON platform_events (event_type, occurred_at);
CREATE INDEX platform_events_occurred_at_idx ON platform_events (occurred_at);
CREATE INDEX platform_events_received_at_brin ON platform_events USING brin (received_at)
    WITH (pages_per_range = 32, autosummarize = on);
CREATE INDEX platform_events_session_idx ON platform_events (session_id, occurred_at, event_id)
    WHERE session_id IS NOT NULL;
CREATE INDEX platform_events_user_idx ON platform_events (user_id, occurred_at) WHERE user_id IS NOT NULL;

-- ------------------------------------------------------------------------------ the ledger ring

CREATE TABLE platform_event_delivery (
    event_id        uuid NOT NULL,
    received_at     timestamptz NOT NULL,
    event_type      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processing', 'delivered', 'failed')),
    retry_count     integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    last_error      text,
    processed_at    timestamptz,
    batch_id        uuid,
    -- A row is in the slot of its received_at or in the held slot (where rows written by hand
    -- land): claim and settle search only those.
    ledger_slot     smallint NOT NULL DEFAULT platform_events_held_slot()
                    CHECK (ledger_slot = platform_events_held_slot()
                           OR ledger_slot = platform_events_ledger_slot(received_at)),
    CONSTRAINT platform_event_delivery_pkey PRIMARY KEY (event_id, ledger_slot)
) PARTITION BY LIST (ledger_slot);
COMMENT ON TABLE platform_event_delivery IS
    'Queue and delivery state of each event, and the idempotency ledger of the dedupe window: slots 0-2 are weeks (current, previous, next to recycle), slot 3 holds undelivered rows older than the window. An event without a row is delivered.';
CREATE TABLE platform_event_delivery_slot_0 PARTITION OF platform_event_delivery FOR VALUES IN (0)
    WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
          autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
CREATE TABLE platform_event_delivery_slot_1 PARTITION OF platform_event_delivery FOR VALUES IN (1)
    WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
          autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
CREATE TABLE platform_event_delivery_slot_2 PARTITION OF platform_event_delivery FOR VALUES IN (2)
    WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
          autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
CREATE TABLE platform_event_delivery_held PARTITION OF platform_event_delivery FOR VALUES IN (3)
    WITH (fillfactor = 80);

-- The rows of the window (this period and the previous one) in their slots, and every
-- undelivered older one in the held slot; a delivered row older than the window is not needed.
INSERT INTO platform_event_delivery (event_id, received_at, event_type, status, retry_count,
                                     next_attempt_at, claimed_at, last_error, processed_at, batch_id,
                                     ledger_slot)
SELECT o.event_id, o.received_at, o.event_type, o.status, o.retry_count, o.next_attempt_at,
       o.claimed_at, o.last_error, o.processed_at, o.batch_id,
       CASE WHEN platform_events_ledger_slot(o.received_at) IN (platform_events_ledger_slot(now()),
                 platform_events_ledger_slot(now() - make_interval(days => platform_events_limit('dedupe_window_days'))))
                 AND o.received_at >= now() - make_interval(days => 2 * platform_events_limit('dedupe_window_days'))
            THEN platform_events_ledger_slot(o.received_at)
            ELSE platform_events_held_slot() END
  FROM platform_event_delivery_0061 o
 WHERE o.status <> 'delivered'
    OR (platform_events_ledger_slot(o.received_at) IN (platform_events_ledger_slot(now()),
            platform_events_ledger_slot(now() - make_interval(days => platform_events_limit('dedupe_window_days'))))
        AND o.received_at >= now() - make_interval(days => 2 * platform_events_limit('dedupe_window_days')));
DROP TABLE platform_event_delivery_0061;

CREATE INDEX platform_event_delivery_claimed_idx ON platform_event_delivery (claimed_at)
    WHERE claimed_at IS NOT NULL AND batch_id IS NULL;
CREATE INDEX platform_event_delivery_due_idx ON platform_event_delivery (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX platform_event_delivery_failed_idx ON platform_event_delivery (event_type)
    WHERE status = 'failed';
-- Undelivered rows by arrival (retention's check of a leaf): an acknowledgement writes no entry.
CREATE INDEX platform_event_delivery_undelivered_idx ON platform_event_delivery (received_at)
    WHERE status <> 'delivered';

ALTER TABLE platform_event_delivery ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_manages_delivery ON platform_event_delivery TO platform_events_pipeline
    USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_event_delivery TO platform_events_pipeline;

-- ------------------------------------------------------------------------------------- views

CREATE VIEW platform_events_with_status WITH (security_invoker = true) AS
SELECT e.event_id, e.event_type, e.event_category, e.schema_version, e.user_id, e.session_id,
       e.occurred_at, e.received_at, e.received_at AS created_at, e.event_data, e.metadata,
       coalesce(d.status, 'delivered') AS processing_status,
       coalesce(d.retry_count, 0) AS retry_count,
       d.next_attempt_at, d.claimed_at, d.last_error AS error_message, d.processed_at
  FROM platform_events e
  LEFT JOIN platform_event_delivery d ON d.event_id = e.event_id AND d.received_at = e.received_at;
GRANT SELECT ON platform_events_with_status TO platform_events_pipeline;

CREATE VIEW platform_events_retired_partitions AS
SELECT c.relname::text AS table_name,
       to_date(m[1], 'YYYY_MM')::timestamp AT TIME ZONE 'UTC' AS range_start,
       (to_date(m[1], 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' AS range_end,
       m[2] AS retention_label
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL regexp_match(c.relname, '^platform_events_retired_([0-9]{4}_[0-9]{2})_r([0-9]+[ymds])$') AS m
 WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relispartition AND m IS NOT NULL;
GRANT SELECT ON platform_events_retired_partitions TO platform_events_pipeline;

-- ------------------------------------------------------------------------------------- writing

CREATE OR REPLACE FUNCTION platform_events_emit_rows(
    p_event_ids uuid[], p_event_types text[], p_event_data jsonb[], p_user_ids text[],
    p_session_ids text[], p_metadata jsonb[], p_occurred_at timestamptz[],
    p_reject_codes text[], p_reject_fields text[], p_reject_messages text[])
RETURNS TABLE(ordinal integer, event_id uuid, status text, error_code text, error_field text,
              error_message text)
LANGUAGE plpgsql
SET search_path = public, pg_temp
-- Generic plans, pruned at run time (a custom plan per call cost 3 ms of planning: 0.6 ms single
-- emits became 4.4 ms). They lock every ledger slot while they run, so the recycler's TRUNCATE
-- waits for running emits, at most its lock timeout per attempt.
AS $$
DECLARE
    v_trusted      boolean := platform_events_caller_is_trusted();
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
    v_count        integer := coalesce(cardinality(p_event_types), 0);
    v_slot         smallint := platform_events_ledger_slot(now());
    v_prev_slot    smallint := platform_events_ledger_slot(
                                   now() - make_interval(days => platform_events_limit('dedupe_window_days')));
    v_window_start timestamptz := now() - make_interval(days => platform_events_limit('dedupe_window_days'));
    v_future       interval := make_interval(secs => platform_events_limit('future_seconds'));
    v_stored_before uuid[] := ARRAY[]::uuid[];  -- stored before the window: duplicates
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

    -- 2. Past the window, the same event re-sent (same id, same occurred_at) is found in the
    -- store: it was received after its occurred_at less the future limit and before the window.
    -- Only an event that occurred before the window can be one (a late arrival, a re-send): the
    -- common batch skips this; for the others each is looked up in the leaves of its span only
    -- (LATERAL ... LIMIT 1 with run-time pruning: a join would read the whole history).
    IF EXISTS (SELECT 1 FROM unnest(v_occurred) AS o(at) WHERE o.at < v_window_start + v_future) THEN
        v_stored_before := ARRAY(
            SELECT u.event_id
              FROM unnest(v_ids, v_occurred) AS u(event_id, occurred_at)
              JOIN LATERAL (SELECT 1 AS hit FROM platform_events o
                             WHERE o.event_id = u.event_id AND o.occurred_at = u.occurred_at
                               AND o.received_at >= u.occurred_at - v_future
                               AND o.received_at < v_window_start
                             LIMIT 1) found ON true
             WHERE u.event_id IS NOT NULL AND u.occurred_at < v_window_start + v_future);
    END IF;

    -- 3. Write the valid events; the first occurrence of an event_id in the batch is the one, and
    -- an id of the previous period's slot is a duplicate (the current slot's primary key refuses
    -- the rest). Without ON CONFLICT first (the common case, and the cheaper plan); an event_id
    -- already in this slot rolls that back, and the second statement stores only what the ledger
    -- takes.
    BEGIN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*, r.retention::text AS retention_class
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            JOIN (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                    FROM event_schemas s ORDER BY s.event_type, s.version DESC) r
              ON r.event_type = u.event_type
            -- LATERAL ... LIMIT 1: one index probe per event (an anti join would read the slot).
            LEFT JOIN LATERAL (SELECT 1 AS hit FROM platform_event_delivery p
                                WHERE p.ledger_slot = v_prev_slot AND p.event_id = u.event_id
                                LIMIT 1) seen ON true
            WHERE u.error_code IS NULL AND seen.hit IS NULL
              AND NOT u.event_id = ANY (v_stored_before)
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery (event_id, received_at, event_type, ledger_slot)
            SELECT v.event_id, now(), v.event_type, v_slot FROM valid v
        ), stored AS (
            INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                         session_id, occurred_at, received_at, event_data, metadata,
                                         retention_class)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb),
                   v.retention_class
            FROM valid v
        )
        -- Both inserts run to completion whether read or not: every valid event is stored.
        SELECT array_agg(v.n::integer) INTO v_accepted FROM valid v;
    EXCEPTION WHEN unique_violation THEN
        WITH valid AS MATERIALIZED (
            SELECT DISTINCT ON (u.event_id) u.*, r.retention::text AS retention_class
            FROM unnest(v_ids, v_codes, v_categories, v_versions, p_event_types, p_event_data, p_user_ids,
                        p_session_ids, p_metadata, v_occurred)
                 WITH ORDINALITY AS u(event_id, error_code, category, schema_version, event_type,
                                      event_data, user_id, session_id, metadata, occurred_at, n)
            JOIN (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                    FROM event_schemas s ORDER BY s.event_type, s.version DESC) r
              ON r.event_type = u.event_type
            -- LATERAL ... LIMIT 1: one index probe per event (an anti join would read the slot).
            LEFT JOIN LATERAL (SELECT 1 AS hit FROM platform_event_delivery p
                                WHERE p.ledger_slot = v_prev_slot AND p.event_id = u.event_id
                                LIMIT 1) seen ON true
            WHERE u.error_code IS NULL AND seen.hit IS NULL
              AND NOT u.event_id = ANY (v_stored_before)
            ORDER BY u.event_id, u.n
        ), ledger AS (
            INSERT INTO platform_event_delivery AS d (event_id, received_at, event_type, ledger_slot)
            SELECT v.event_id, now(), v.event_type, v_slot FROM valid v
            ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING
            RETURNING d.event_id
        ), stored AS (
            INSERT INTO platform_events AS e (event_id, event_type, event_category, schema_version, user_id,
                                              session_id, occurred_at, received_at, event_data, metadata,
                                              retention_class)
            SELECT v.event_id, v.event_type, v.category, v.schema_version,
                   CASE WHEN v_trusted THEN v.user_id ELSE v_session_user END,
                   v.session_id, v.occurred_at, now(), v.event_data, coalesce(v.metadata, '{}'::jsonb),
                   v.retention_class
            FROM valid v JOIN ledger l ON l.event_id = v.event_id
            RETURNING e.event_id
        )
        SELECT array_agg(v.n::integer) INTO v_accepted
          FROM valid v JOIN stored s ON s.event_id = v.event_id;
    END;

    -- 4. One answer per event, in order.
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

CREATE OR REPLACE FUNCTION platform_events_store(p_event_type text, p_event_data jsonb, p_user_id text,
                                                 p_session_id text, p_metadata jsonb,
                                                 p_occurred_at timestamptz, p_event_id uuid)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_id      uuid := coalesce(p_event_id, gen_random_uuid());
    v_check   platform_event_check_result;
    v_now     timestamptz := now();
    v_slot    smallint := platform_events_ledger_slot(now());
    v_prev    smallint := platform_events_ledger_slot(
                              now() - make_interval(days => platform_events_limit('dedupe_window_days')));
BEGIN
    v_check := platform_event_check(p_event_type, p_event_data, p_metadata,
                                    coalesce(p_occurred_at, v_now), p_user_id, p_session_id);
    IF v_check.error_code IS NOT NULL THEN
        RAISE EXCEPTION '%', v_check.error_message
            USING ERRCODE = v_check.error_code, COLUMN = v_check.error_field;
    END IF;
    IF EXISTS (SELECT 1 FROM platform_event_delivery d WHERE d.ledger_slot = v_prev AND d.event_id = v_id) THEN
        RETURN v_id;  -- stored last period: a retry of the same event
    END IF;
    -- Past the window, only an event that occurred before it can have been stored (see emit_rows).
    IF coalesce(p_occurred_at, v_now) < v_now - make_interval(days => platform_events_limit('dedupe_window_days'))
                                         + make_interval(secs => platform_events_limit('future_seconds'))
       AND EXISTS (SELECT 1 FROM platform_events o
                    WHERE o.event_id = v_id AND o.occurred_at = p_occurred_at
                      AND o.received_at >= p_occurred_at
                                           - make_interval(secs => platform_events_limit('future_seconds'))
                      AND o.received_at < v_now - make_interval(days => platform_events_limit('dedupe_window_days'))) THEN
        RETURN v_id;  -- stored before the window: a retry of the same event
    END IF;
    INSERT INTO platform_event_delivery (event_id, received_at, event_type, ledger_slot)
    VALUES (v_id, v_now, p_event_type, v_slot)
    ON CONFLICT ON CONSTRAINT platform_event_delivery_pkey DO NOTHING;
    IF NOT FOUND THEN
        RETURN v_id;  -- already stored: a retry of the same event
    END IF;
    INSERT INTO platform_events (event_id, event_type, event_category, schema_version, user_id,
                                 session_id, occurred_at, received_at, event_data, metadata, retention_class)
    VALUES (v_id, p_event_type, v_check.category, v_check.schema_version, p_user_id, p_session_id,
            coalesce(p_occurred_at, v_now), v_now, p_event_data, coalesce(p_metadata, '{}'::jsonb),
            platform_events_type_retention(p_event_type)::text);
    RETURN v_id;
END;
$$;

CREATE TRIGGER platform_events_fence_in_flight
    AFTER UPDATE ON platform_events
    REFERENCING NEW TABLE AS platform_events_changed
    FOR EACH STATEMENT EXECUTE FUNCTION platform_events_fence_changed_batches();

-- ------------------------------------------------------------------------------------ retention

-- Whether an event has delivery work left (a row not delivered); without a row it is delivered.
CREATE FUNCTION platform_events_undelivered(p_event_id uuid, p_received_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = public, pg_temp
RETURN EXISTS (SELECT 1 FROM platform_event_delivery d
                WHERE d.event_id = p_event_id AND d.received_at = p_received_at
                  AND d.status <> 'delivered');

-- Whether a leaf can go whole: its range plus its class plus the future limit is past, no event
-- of it is undelivered, and (after moving them out) none belongs to a type kept longer now.
-- 'expired', 'not_expired' or 'undelivered'; moves the longer-kept events when asked to.
CREATE FUNCTION platform_events_leaf_expiry(p_leaf text, p_move boolean)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_part  record;
    v_found boolean;
    v_month date;
    v_type   text;
    v_longer interval;
BEGIN
    SELECT * INTO v_part FROM platform_event_partitions p WHERE p.partition_name = p_leaf;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a leaf partition of platform_events', quote_nullable(p_leaf)
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    IF v_part.range_end + v_part.retention
       + make_interval(secs => platform_events_limit('future_seconds')) > now() THEN
        RETURN 'not_expired';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM platform_event_delivery d JOIN %I e
                                      ON e.event_id = d.event_id AND e.received_at = d.received_at
                                   WHERE d.status <> ''delivered''
                                     AND d.received_at >= %L AND d.received_at < %L)',
                   p_leaf, v_part.range_start, v_part.range_end) INTO v_found;
    IF v_found THEN
        RETURN 'undelivered';
    END IF;
    IF p_move THEN
        -- Types whose retention grew since their events were stored here: to their class now
        -- (row movement through the parent, into the same month's leaf of that class). Per type,
        -- found by the leaf's (event_type, occurred_at) index: nearly always none.
        v_month := date_trunc('month', v_part.range_start AT TIME ZONE 'UTC')::date;
        FOR v_type, v_longer IN
            SELECT p.event_type, p.retention
              FROM (SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
                      FROM event_schemas s ORDER BY s.event_type, s.version DESC) p
             WHERE p.retention > v_part.retention
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE event_type = %L)', p_leaf, v_type)
               INTO v_found;
            CONTINUE WHEN NOT v_found;
            PERFORM platform_events_ensure_leaf(v_month, v_longer);
            EXECUTE format('UPDATE platform_events e SET retention_class = %L
                             WHERE e.received_at >= %L AND e.received_at < %L
                               AND e.retention_class = %L AND e.event_type = %L',
                           v_longer::text, v_part.range_start, v_part.range_end,
                           v_part.retention_class, v_type);
        END LOOP;
    END IF;
    RETURN 'expired';
END;
$$;
REVOKE ALL ON FUNCTION platform_events_leaf_expiry(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_events_leaf_expiry(text, boolean) TO platform_events_pipeline;

DROP FUNCTION platform_events_detach_partition(text, interval, integer);
CREATE FUNCTION platform_events_detach_partition(p_partition text,
                                                 p_lock_timeout interval DEFAULT '50 milliseconds',
                                                 p_attempts integer DEFAULT 20)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $_$
DECLARE
    v_part    record;
    v_retired text;
    v_outcome text;
    v_old     text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '5 seconds' THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 5 s' USING ERRCODE = '22023',
            COLUMN = 'lock_timeout';
    END IF;
    IF p_attempts IS NULL OR p_attempts < 1 OR p_attempts > 1000 THEN
        RAISE EXCEPTION 'attempts must be between 1 and 1000' USING ERRCODE = '22023',
            COLUMN = 'attempts';
    END IF;
    SELECT * INTO v_part FROM platform_event_partitions p WHERE p.partition_name = p_partition;
    IF NOT FOUND OR p_partition !~ '^platform_events_[0-9]{4}_[0-9]{2}_r[0-9]+[ymds]$' THEN
        RAISE EXCEPTION '% is not a leaf partition of platform_events', quote_nullable(p_partition)
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    -- Reprocessing takes this lock shared before it puts delivered events back to pending, so the
    -- check below stays true until the detach commits.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_partition_retirement'));
    v_outcome := platform_events_leaf_expiry(p_partition, true);
    IF v_outcome <> 'expired' THEN
        RETURN v_outcome;
    END IF;
    v_retired := 'platform_events_retired_' || substr(p_partition, length('platform_events_') + 1);
    PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
    FOR i IN 1 .. p_attempts LOOP
        BEGIN
            -- The parent is a month long past: no INSERT waits for this lock, only readers of it.
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_part.month_name, p_partition);
            EXECUTE format('ALTER TABLE %I RENAME TO %I', p_partition, v_retired);
            PERFORM set_config('lock_timeout', v_old, true);
            RETURN 'detached';
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(least(1.0, 0.02 * i) * (0.5 + random() / 2));
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
    RETURN 'busy';
END;
$_$;
REVOKE ALL ON FUNCTION platform_events_detach_partition(text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_events_detach_partition(text, interval, integer) TO platform_events_pipeline;

-- Month tables left without leaves, detached from platform_events (which every INSERT holds, so
-- each attempt waits at most p_lock_timeout) and dropped; their names.
CREATE FUNCTION platform_events_drop_empty_months(p_lock_timeout interval DEFAULT '5 milliseconds')
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_month record;
    v_old   text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '1 second' THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 1 s' USING ERRCODE = '22023',
            COLUMN = 'lock_timeout';
    END IF;
    FOR v_month IN
        SELECT m.partition_name FROM platform_event_months m
         WHERE m.by_retention AND m.range_end < now() - interval '1 month'
           AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = m.partition_name::regclass)
         ORDER BY m.range_start
    LOOP
        PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
        BEGIN
            EXECUTE format('DROP TABLE %I', v_month.partition_name);
            RETURN NEXT v_month.partition_name;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- busy: the next run drops it
        END;
        PERFORM set_config('lock_timeout', v_old, true);
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
END;
$$;
REVOKE ALL ON FUNCTION platform_events_drop_empty_months(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_events_drop_empty_months(interval) TO platform_events_pipeline;

-- The row-by-row part of retention, in bounded batches: late arrivals (occurred_at before the
-- month their leaf holds), events of a type whose retention was shortened since they were
-- stored, and anything in the default partition. Each index scan reads only rows it deletes:
-- per leaf, occurred_at below the leaf's month start (late arrivals) or the shortened type's
-- expiry. Undelivered events are kept; a deleted event's ledger row (delivered) goes with it.
-- SECURITY DEFINER: it deletes from the leaves by name (their rows by ctid, found by the leaf's
-- own index), which the pipeline role, granted the parent only, cannot.
CREATE OR REPLACE FUNCTION apply_data_retention_policy(p_batch_size integer DEFAULT 5000)
RETURNS TABLE(event_type text, category text, retention interval, deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_leaf   record;
    v_policy record;
    v_gone   text[] := ARRAY[]::text[];  -- the type of each deleted event
    v_more   text[];
    v_shortest interval;
    v_policy_sql constant text :=
        '(SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
            FROM event_schemas s ORDER BY s.event_type, s.version DESC)';
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 OR p_batch_size > 100000 THEN
        RAISE EXCEPTION 'batch size must be between 1 and 100000' USING ERRCODE = '22023',
            COLUMN = 'batch_size';
    END IF;
    -- Reprocessing puts delivered events back to pending under this lock, shared.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_partition_retirement'));
    -- No late arrival is expired before the shortest retention: the index scans start there.
    SELECT min(s.retention) INTO v_shortest FROM event_schemas s;
    FOR v_leaf IN
        SELECT p.partition_name AS name, p.range_start AS late_before, p.retention
          FROM platform_event_partitions p
        UNION ALL  -- every row of the default partition counts as late
        SELECT 'platform_events_default', 'infinity'::timestamptz, NULL::interval
         ORDER BY 2, 1
    LOOP
        EXIT WHEN cardinality(v_gone) >= p_batch_size;
        EXECUTE format(
            'WITH gone AS (
                 DELETE FROM %1$I e
                  WHERE e.ctid = ANY (ARRAY(
                        SELECT x.ctid FROM %1$I x JOIN %2$s p ON p.event_type = x.event_type
                         WHERE x.occurred_at < least(%3$L::timestamptz, now() - %5$L::interval)
                           AND x.occurred_at < now() - p.retention
                           AND NOT platform_events_undelivered(x.event_id, x.received_at)
                         LIMIT %4$s))
                 RETURNING e.event_type, e.event_id, e.received_at),
             ledger AS (
                 DELETE FROM platform_event_delivery d USING gone g
                  WHERE d.event_id = g.event_id AND d.received_at = g.received_at)
             SELECT array_agg(g.event_type) FROM gone g',
            v_leaf.name, v_policy_sql, v_leaf.late_before, p_batch_size - cardinality(v_gone),
            v_shortest) INTO v_more;
        v_gone := v_gone || coalesce(v_more, ARRAY[]::text[]);
        CONTINUE WHEN v_leaf.retention IS NULL;
        FOR v_policy IN EXECUTE format('SELECT * FROM %s p WHERE p.retention < %L', v_policy_sql,
                                       v_leaf.retention) LOOP
            EXIT WHEN cardinality(v_gone) >= p_batch_size;
            EXECUTE format(
                'WITH gone AS (
                     DELETE FROM %1$I e
                      WHERE e.ctid = ANY (ARRAY(
                            SELECT x.ctid FROM %1$I x
                             WHERE x.event_type = %2$L AND x.occurred_at < now() - %3$L::interval
                               AND NOT platform_events_undelivered(x.event_id, x.received_at)
                             LIMIT %4$s))
                     RETURNING e.event_type, e.event_id, e.received_at),
                 ledger AS (
                     DELETE FROM platform_event_delivery d USING gone g
                      WHERE d.event_id = g.event_id AND d.received_at = g.received_at)
                 SELECT array_agg(g.event_type) FROM gone g',
                v_leaf.name, v_policy.event_type, v_policy.retention,
                p_batch_size - cardinality(v_gone)) INTO v_more;
            v_gone := v_gone || coalesce(v_more, ARRAY[]::text[]);
        END LOOP;
    END LOOP;

    RETURN QUERY EXECUTE format(
        'SELECT p.event_type, c.category, p.retention, coalesce(g.n, 0)
           FROM %s p
           JOIN LATERAL (SELECT s.category FROM event_schemas s WHERE s.event_type = p.event_type
                          ORDER BY s.version DESC LIMIT 1) c ON true
           LEFT JOIN (SELECT t AS event_type, count(*) AS n FROM unnest($1) AS t GROUP BY t) g
                  ON g.event_type = p.event_type
          ORDER BY p.event_type', v_policy_sql) USING v_gone;
END;
$$;

CREATE OR REPLACE FUNCTION platform_events_retention_preview()
RETURNS TABLE(event_type text, category text, retention interval, expired bigint)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    WITH policy AS (
        SELECT DISTINCT ON (s.event_type) s.event_type, s.category, s.retention
          FROM event_schemas s
         ORDER BY s.event_type, s.version DESC
    )
    SELECT p.event_type, p.category, p.retention,
           (SELECT count(*)
              FROM platform_events e
             WHERE e.event_type = p.event_type
               AND e.occurred_at < now() - p.retention
               AND NOT platform_events_undelivered(e.event_id, e.received_at))
      FROM policy p
     ORDER BY p.event_type;
$$;

-- ------------------------------------------------------------------------- claim and settle

-- As in 0050, but a ledger row is looked up only in the slots it can be in (a slot is a
-- partition: each one searched is one more index probe per event).
CREATE OR REPLACE FUNCTION claim_delivery_batch(p_batch_size integer, p_lease interval, p_max_retries integer, p_holder text) RETURNS TABLE(batch_id uuid, lease_token uuid, attempt integer, event_id uuid, event_type text, event_category text, schema_version integer, user_id text, session_id text, occurred_at timestamp with time zone, received_at timestamp with time zone, event_data jsonb, metadata jsonb, retry_count integer)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_batch   uuid;
    v_token   uuid := gen_random_uuid();
    v_attempt integer := 1;
    v_members uuid[];
    v_stuck   uuid[];
    v_due     uuid[];
    v_slots   smallint[];
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

        SELECT array_agg(due.event_id), array_agg(DISTINCT due.ledger_slot) INTO v_due, v_slots
          FROM (SELECT s.event_id, s.ledger_slot FROM platform_event_delivery s
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
             WHERE d.event_id = ANY (v_due) AND d.ledger_slot = ANY (v_slots)  -- (a constant: pruned)
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

CREATE OR REPLACE FUNCTION settle_delivery_batch(p_batch_id uuid, p_lease_token uuid, p_delivered uuid[], p_released uuid[], p_errors text[], p_final boolean[], p_max_retries integer, p_backoff interval, p_hold boolean, p_sink text, p_sink_state text, p_sink_error text, p_hold_base interval, p_hold_max interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_token    uuid;
    v_failures integer := 0;
    v_due      timestamptz;
    v_slots    smallint[];
BEGIN
    IF p_sink_state NOT IN ('ok', 'unavailable', 'throttled', 'misconfigured') THEN
        RAISE EXCEPTION 'sink state must be ok, unavailable, throttled, misconfigured or NULL'
            USING ERRCODE = '22023', COLUMN = 'sink_state';
    END IF;
    -- The slots the members can be in: those of the batch's received range, and the held one.
    SELECT b.lease_token,
           CASE WHEN NOT isfinite(b.received_lo) OR NOT isfinite(b.received_hi)
                THEN ARRAY[0, 1, 2, 3]::smallint[]  -- (rows planted by hand: in the held slot)
                WHEN b.received_hi - b.received_lo
                     >= make_interval(days => platform_events_limit('dedupe_window_days'))
                THEN ARRAY[0, 1, 2, 3]::smallint[]
                ELSE ARRAY[platform_events_ledger_slot(b.received_lo),
                           platform_events_ledger_slot(b.received_hi), platform_events_held_slot()] END
      INTO v_token, v_slots
      FROM platform_event_delivery_batches b WHERE b.batch_id = p_batch_id FOR UPDATE;
    IF v_token IS NULL OR v_token <> p_lease_token THEN
        RAISE EXCEPTION 'the lease of delivery batch % passed to another worker', p_batch_id
            USING ERRCODE = 'PE050', HINT = 'nothing was changed; stop working on this batch';
    END IF;

    IF cardinality(p_delivered) > 0 THEN
        UPDATE platform_event_delivery d
           SET status = 'delivered', processed_at = now(), last_error = NULL, claimed_at = NULL,
               batch_id = NULL
         WHERE d.event_id = ANY (p_delivered) AND d.batch_id = p_batch_id
           AND d.ledger_slot = ANY (v_slots);
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
         WHERE d.event_id = r.event_id AND d.batch_id = p_batch_id
           AND d.ledger_slot = ANY (v_slots);
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

-- ------------------------------------------------------------------------- ledger recycling

-- Recycles the slot of the period before the previous one (it holds rows older than the window):
-- its undelivered rows move to the held slot, then it is TRUNCATEd, which writes no WAL per row.
-- 'recycled', 'in_flight' (a batch still holds rows of it: the next run), 'busy' (the lock was not
-- had within the attempts) or 'empty'; with the rows moved.
CREATE FUNCTION platform_events_recycle_ledger(p_lock_timeout interval DEFAULT '50 milliseconds',
                                               p_attempts integer DEFAULT 20)
RETURNS TABLE(slot smallint, outcome text, held bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_cur  smallint := platform_events_ledger_slot(now());
    v_prev smallint := platform_events_ledger_slot(
                           now() - make_interval(days => platform_events_limit('dedupe_window_days')));
    v_slot smallint;
    v_leaf text;
    v_held bigint := 0;
    v_old  text := current_setting('lock_timeout');
BEGIN
    IF p_lock_timeout IS NULL OR p_lock_timeout < interval '1 millisecond'
       OR p_lock_timeout > interval '5 seconds' OR p_attempts IS NULL OR p_attempts < 1
       OR p_attempts > 1000 THEN
        RAISE EXCEPTION 'lock timeout must be between 1 ms and 5 s, attempts between 1 and 1000'
            USING ERRCODE = '22023', COLUMN = 'lock_timeout';
    END IF;
    v_slot := 3 - v_cur - v_prev;
    v_leaf := 'platform_event_delivery_slot_' || v_slot;
    slot := v_slot;
    -- One recycler at a time; ingest and streaming never take this lock.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_recycle_ledger'));
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', v_leaf) INTO STRICT outcome;
    IF outcome::boolean THEN
        outcome := 'empty';
        held := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE status = ''processing'')', v_leaf)
       INTO STRICT outcome;
    IF outcome::boolean THEN
        outcome := 'in_flight';
        held := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
    FOR i IN 1 .. p_attempts LOOP
        BEGIN
            -- Lock first, so no claim takes a row between the move and the truncate.
            EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', v_leaf);
            EXECUTE format(
                'WITH moved AS (DELETE FROM %I WHERE status <> ''delivered'' RETURNING *)
                 INSERT INTO platform_event_delivery (event_id, received_at, event_type, status,
                        retry_count, next_attempt_at, claimed_at, last_error, processed_at, batch_id,
                        ledger_slot)
                 SELECT m.event_id, m.received_at, m.event_type, m.status, m.retry_count,
                        m.next_attempt_at, m.claimed_at, m.last_error, m.processed_at, m.batch_id,
                        platform_events_held_slot()
                   FROM moved m', v_leaf);
            GET DIAGNOSTICS v_held = ROW_COUNT;
            EXECUTE format('TRUNCATE %I', v_leaf);
            PERFORM set_config('lock_timeout', v_old, true);
            outcome := 'recycled';
            held := v_held;
            RETURN NEXT;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(least(1.0, 0.02 * i) * (0.5 + random() / 2));
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
    outcome := 'busy';
    held := 0;
    RETURN NEXT;
END;
$$;
REVOKE ALL ON FUNCTION platform_events_recycle_ledger(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_events_recycle_ledger(interval, integer) TO platform_events_pipeline;

REVOKE ALL ON FUNCTION platform_events_ledger_slot(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_held_slot() FROM PUBLIC;
-- The ledger's CHECK and default call these, as whoever writes or locks its rows: the pipeline
-- role does (claims, acknowledgements, reprocessing). Constants and arithmetic only.
GRANT EXECUTE ON FUNCTION platform_events_ledger_slot(timestamptz), platform_events_held_slot(),
                          platform_events_limit(text), platform_events_limits()
    TO platform_events_pipeline;
REVOKE ALL ON FUNCTION platform_events_retention_label(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_type_retention(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_undelivered(uuid, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform_events_ensure_leaf(date, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_events_undelivered(uuid, timestamptz) TO platform_events_pipeline;
