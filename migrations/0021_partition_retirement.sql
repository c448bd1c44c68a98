-- 0021: retiring whole monthly partitions whose every event is expired and delivered.
--
-- Deleting a month of expired events row by row writes every row to WAL and leaves the partition
-- to vacuum; detaching the partition and dropping the table is a catalogue change. It is safe only
-- when nothing in the month must stay: every event past its type's retention, every event
-- delivered (never an undelivered event), every event with its delivery row.
--
-- Why not DETACH PARTITION ... CONCURRENTLY: PostgreSQL refuses it while the table has a default
-- partition ("cannot detach partitions concurrently when a default partition exists"), and ours
-- has one (0001), and it cannot run inside a function, and it needs the owner, which the pipeline
-- role is not. So the pipeline calls the SECURITY DEFINER function below, which detaches
-- non-concurrently with a short lock_timeout and retries: the ACCESS EXCLUSIVE lock on
-- platform_events is only ever queued for at most p_lock_timeout (50 ms by default), so an emitter
-- waits at most that long plus the catalogue update, and a long reader (a dashboard query) makes
-- the attempt give up and retry instead of stalling ingest behind it. The table is then renamed
-- platform_events_retired_YYYY_MM, its delivery rows are deleted in bounded batches, and it is
-- dropped in a separate short transaction (platform_events_drop_retired_partition): a retired
-- table that still exists is the marker of unfinished work, so a crashed run is finished by the next.

-- True when every event received in [p_from, p_to) is past its type's retention and delivered,
-- and every one has its delivery row (the two counts agree).
CREATE FUNCTION platform_events_range_expired(p_from timestamptz, p_to timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    WITH policy AS (
        SELECT DISTINCT ON (s.event_type) s.event_type, s.retention
          FROM event_schemas s
         ORDER BY s.event_type, s.version DESC
    )
    SELECT NOT EXISTS (SELECT 1 FROM platform_event_delivery d
                        WHERE d.status IN ('pending', 'processing', 'failed')
                          AND d.received_at >= p_from AND d.received_at < p_to)
       AND NOT EXISTS (SELECT 1 FROM platform_events e
                         LEFT JOIN policy p ON p.event_type = e.event_type
                        WHERE e.received_at >= p_from AND e.received_at < p_to
                          AND (p.retention IS NULL OR e.occurred_at >= now() - p.retention))
       AND (SELECT count(*) FROM platform_events e
             WHERE e.received_at >= p_from AND e.received_at < p_to)
         = (SELECT count(*) FROM platform_event_delivery d
             WHERE d.status = 'delivered' AND d.received_at >= p_from AND d.received_at < p_to);
$$;

-- Detaches one monthly partition of the past if, under the retirement lock, its whole range is
-- expired and delivered, and renames it platform_events_retired_YYYY_MM. Returns 'detached',
-- 'not_expired', or 'busy' when the lock could not be had within p_attempts short tries.
CREATE FUNCTION platform_events_detach_partition(p_partition    text,
                                                 p_lock_timeout interval DEFAULT interval '50 milliseconds',
                                                 p_attempts     integer  DEFAULT 20)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_part    record;
    v_retired text;
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
    SELECT * INTO v_part FROM platform_event_partitions p
     WHERE p.partition_name = p_partition AND p.range_start IS NOT NULL;
    IF NOT FOUND OR p_partition !~ '^platform_events_[0-9]{4}_[0-9]{2}$' THEN
        RAISE EXCEPTION '% is not a monthly partition of platform_events', quote_nullable(p_partition)
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    IF v_part.range_end > now() THEN
        RAISE EXCEPTION 'partition % is not entirely in the past', p_partition
            USING ERRCODE = '22023', COLUMN = 'partition';
    END IF;
    -- Reprocessing takes this lock shared before it puts delivered events back to pending, so the
    -- check below stays true until the detach commits.
    PERFORM pg_advisory_xact_lock(hashtext('platform_events_partition_retirement'));
    IF NOT platform_events_range_expired(v_part.range_start, v_part.range_end) THEN
        RETURN 'not_expired';
    END IF;
    v_retired := 'platform_events_retired_' || substr(p_partition, length('platform_events_') + 1);
    PERFORM set_config('lock_timeout', (extract(epoch FROM p_lock_timeout) * 1000)::int || 'ms', true);
    FOR i IN 1 .. p_attempts LOOP
        BEGIN
            EXECUTE format('ALTER TABLE platform_events DETACH PARTITION %I', p_partition);
            EXECUTE format('ALTER TABLE %I RENAME TO %I', p_partition, v_retired);
            PERFORM set_config('lock_timeout', v_old, true);
            RETURN 'detached';
        EXCEPTION WHEN lock_not_available THEN
            -- Someone holds platform_events (a long query): let ingest through, back off, retry.
            PERFORM pg_sleep(least(1.0, 0.02 * i) * (0.5 + random() / 2));
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_old, true);
    RETURN 'busy';
END;
$$;

-- Retired tables (detached, not yet dropped) with the month they held.
CREATE VIEW platform_events_retired_partitions AS
SELECT c.relname::text AS table_name,
       (to_date(substr(c.relname, length('platform_events_retired_') + 1), 'YYYY_MM')::timestamp
           AT TIME ZONE 'UTC') AS range_start,
       ((to_date(substr(c.relname, length('platform_events_retired_') + 1), 'YYYY_MM')
           + interval '1 month')::timestamp AT TIME ZONE 'UTC') AS range_end
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relispartition
   AND c.relname ~ '^platform_events_retired_[0-9]{4}_[0-9]{2}$';

-- Drops one retired table (only those: never a partition or any other table).
CREATE FUNCTION platform_events_drop_retired_partition(p_table text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM platform_events_retired_partitions r WHERE r.table_name = p_table) THEN
        RAISE EXCEPTION '% is not a retired platform_events partition', quote_nullable(p_table)
            USING ERRCODE = '22023', COLUMN = 'table';
    END IF;
    EXECUTE format('DROP TABLE %I', p_table);
    RETURN true;
END;
$$;

GRANT EXECUTE ON FUNCTION
    platform_events_range_expired(timestamptz, timestamptz),
    platform_events_detach_partition(text, interval, integer),
    platform_events_drop_retired_partition(text)
    TO platform_events_pipeline;
GRANT SELECT ON platform_events_retired_partitions TO platform_events_pipeline;
