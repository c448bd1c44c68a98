-- 0002: monthly partitions of platform_events, created ahead by ensure_platform_event_partitions().

-- Creates the partitions for the months [now - months_back, now + months_ahead] that are missing,
-- moving any row the default partition caught for such a month into it first (attaching a range
-- the default partition holds rows of would otherwise fail). Returns the names it created.
-- Run by the migration below, and by the scheduled jobs (cleanup, retention) so a month is always
-- created weeks before its first insert.
CREATE FUNCTION ensure_platform_event_partitions(p_months_ahead integer DEFAULT 3,
                                                 p_months_back integer DEFAULT 1)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_month      date;
    v_next       date;
    v_name       text;
    v_moved      bigint;
    v_first      date := date_trunc('month', now() AT TIME ZONE 'UTC')::date
                         - make_interval(months => p_months_back);
BEGIN
    IF p_months_ahead < 0 OR p_months_ahead > 120 OR p_months_back < 0 OR p_months_back > 1200 THEN
        RAISE EXCEPTION 'months ahead must be 0..120 and months back 0..1200'
            USING ERRCODE = '22023';
    END IF;
    -- Serialise concurrent maintenance runs; ingest is never blocked by this lock.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_platform_event_partitions'));
    FOR i IN 0 .. p_months_back + p_months_ahead LOOP
        v_month := v_first + make_interval(months => i);
        v_next  := v_month + interval '1 month';
        v_name  := format('platform_events_%s', to_char(v_month, 'YYYY_MM'));
        CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
        SELECT count(*) INTO v_moved FROM platform_events_default
         WHERE received_at >= v_month::timestamp AT TIME ZONE 'UTC'
           AND received_at <  v_next::timestamp AT TIME ZONE 'UTC';
        IF v_moved = 0 THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF platform_events FOR VALUES FROM (%L) TO (%L)',
                v_name, v_month::timestamp AT TIME ZONE 'UTC', v_next::timestamp AT TIME ZONE 'UTC');
        ELSE
            EXECUTE format('CREATE TABLE %I (LIKE platform_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           v_name);
            EXECUTE format(
                'WITH moved AS (DELETE FROM platform_events_default
                                 WHERE received_at >= %L AND received_at < %L RETURNING *)
                 INSERT INTO %I SELECT * FROM moved',
                v_month::timestamp AT TIME ZONE 'UTC', v_next::timestamp AT TIME ZONE 'UTC', v_name);
            EXECUTE format(
                'ALTER TABLE platform_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                v_name, v_month::timestamp AT TIME ZONE 'UTC', v_next::timestamp AT TIME ZONE 'UTC');
        END IF;
        RETURN NEXT v_name;
    END LOOP;
END;
$$;

-- Monthly partitions with their bounds and whether the range is entirely in the past.
CREATE VIEW platform_event_partitions AS
SELECT c.relname::text AS partition_name,
       pg_get_expr(c.relpartbound, c.oid) AS bounds,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS range_start,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS range_end
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'platform_events'::regclass;

SELECT count(*) FROM ensure_platform_event_partitions(3, 1);
