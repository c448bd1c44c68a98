-- 0022: GDPR erasure: the audit trail, the queue a users-table trigger fills, nested-value scrubbing.
--
-- The audit proves an erasure happened without keeping who was erased: it stores an HMAC-SHA256 of
-- the user id under ERASURE_AUDIT_KEY (computed by the job), so compliance can answer "was user X
-- erased, when, how many events" by recomputing the HMAC of X, while the table itself reveals no
-- id. The queue must hold the id in clear until the erasure runs; the job deletes the queue row in
-- the same transaction that writes the audit row.

CREATE TABLE user_erasure_audit (
    erasure_id        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_key          text        NOT NULL CHECK (user_key ~ '^[0-9a-f]{64}$'),
    key_id            text        NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
    source            text        NOT NULL CHECK (source IN ('api', 'cli', 'trigger')),
    requested_by      text        NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
    requested_at      timestamptz NOT NULL,
    completed_at      timestamptz NOT NULL DEFAULT now(),
    postgres_events   bigint      NOT NULL CHECK (postgres_events >= 0),
    quarantine_events bigint      NOT NULL CHECK (quarantine_events >= 0),
    warehouse         text        NOT NULL,
    warehouse_events  bigint      NOT NULL CHECK (warehouse_events >= 0)
);
COMMENT ON TABLE user_erasure_audit IS
    'One row per completed GDPR erasure; user_key is HMAC-SHA256(ERASURE_AUDIT_KEY, user_id), never the id.';
CREATE INDEX user_erasure_audit_user_key_idx ON user_erasure_audit (user_key);

CREATE TABLE user_erasure_queue (
    user_id         text        PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 255),
    source          text        NOT NULL DEFAULT 'trigger' CHECK (source IN ('api', 'cli', 'trigger')),
    requested_by    text        NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
COMMENT ON TABLE user_erasure_queue IS
    'Users whose erasure is due (filled by the users-table trigger); emptied by the erase_user job.';
CREATE INDEX user_erasure_queue_due_idx ON user_erasure_queue (next_attempt_at);

-- Statement-level AFTER DELETE trigger body: queues the id column (TG_ARGV[0]) of every deleted
-- row. SECURITY DEFINER so the application that deletes users needs no right on the queue.
CREATE FUNCTION platform_events_queue_user_erasure()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    INSERT INTO user_erasure_queue (user_id, source, requested_by)
    SELECT DISTINCT to_jsonb(d) ->> TG_ARGV[0], 'trigger',
           left(format('delete on %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), 200)
      FROM platform_events_deleted_users d
     WHERE to_jsonb(d) ->> TG_ARGV[0] IS NOT NULL AND to_jsonb(d) ->> TG_ARGV[0] <> ''
    ON CONFLICT (user_id) DO NOTHING;
    RETURN NULL;
END;
$$;

-- Installs (or replaces) the erasure trigger on the application's users table: deleting a row of
-- p_table queues the erasure of the user whose id is in p_id_column. Run it as the owner of the
-- users table (CREATE TRIGGER needs it); it is not SECURITY DEFINER on purpose.
CREATE FUNCTION install_user_erasure_trigger(p_table regclass, p_id_column text DEFAULT 'id')
RETURNS text
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = p_table AND a.attname = p_id_column
                      AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % has no column %', p_table, quote_nullable(p_id_column)
            USING ERRCODE = '22023', COLUMN = 'id_column';
    END IF;
    EXECUTE format(
        'CREATE OR REPLACE TRIGGER platform_events_user_erasure AFTER DELETE ON %s '
        'REFERENCING OLD TABLE AS platform_events_deleted_users '
        'FOR EACH STATEMENT EXECUTE FUNCTION platform_events_queue_user_erasure(%L)',
        p_table, p_id_column);
    RETURN format('deleting from %s now queues the erasure of %s', p_table, p_id_column);
END;
$$;

-- Replaces every string equal to p_needle, at any depth of p_value, by JSON null.
CREATE FUNCTION platform_events_scrub_json(p_value jsonb, p_needle text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
BEGIN
    -- Fast path: the needle, as a JSON string, does not occur in the document at all.
    IF p_value IS NULL OR strpos(p_value::text, to_jsonb(p_needle)::text) = 0 THEN
        RETURN p_value;
    END IF;
    CASE jsonb_typeof(p_value)
        WHEN 'object' THEN
            RETURN (SELECT coalesce(jsonb_object_agg(t.k, platform_events_scrub_json(t.v, p_needle)),
                                    '{}'::jsonb)
                      FROM jsonb_each(p_value) AS t(k, v));
        WHEN 'array' THEN
            RETURN (SELECT coalesce(jsonb_agg(platform_events_scrub_json(t.v, p_needle) ORDER BY t.n),
                                    '[]'::jsonb)
                      FROM jsonb_array_elements(p_value) WITH ORDINALITY AS t(v, n));
        WHEN 'string' THEN
            RETURN CASE WHEN p_value = to_jsonb(p_needle) THEN 'null'::jsonb ELSE p_value END;
        ELSE
            RETURN p_value;
    END CASE;
END;
$$;

-- 0004's anonymization nulled values equal to the user id only at the top level of event_data;
-- an id nested in an object or array (filters, recipients lists) or in metadata survived.
CREATE OR REPLACE FUNCTION anonymize_user_events(p_user_id text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_count bigint := 0;
    v_more  bigint;
    v_ref   record;
BEGIN
    IF p_user_id IS NULL OR p_user_id = '' THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = '22023', COLUMN = 'user_id';
    END IF;
    WITH personal AS (
        SELECT s.event_type, array_agg(DISTINCT p.key) AS keys
          FROM event_schemas s, jsonb_each(s.json_schema -> 'properties') p
         WHERE (p.value ->> 'x-personal')::boolean IS TRUE
         GROUP BY s.event_type
    )
    UPDATE platform_events e
       SET user_id = NULL,
           session_id = NULL,
           event_data = platform_events_scrub_json(
                            e.event_data - coalesce((SELECT pe.keys FROM personal pe
                                                      WHERE pe.event_type = e.event_type),
                                                    ARRAY[]::text[]),
                            p_user_id),
           metadata = platform_events_scrub_json(e.metadata - platform_events_personal_metadata_keys(),
                                                 p_user_id)
                      || jsonb_build_object('anonymized', true)
     WHERE e.user_id = p_user_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;

    FOR v_ref IN
        SELECT DISTINCT s.event_type, p.key
          FROM event_schemas s, jsonb_each(s.json_schema -> 'properties') p
         WHERE (p.value ->> 'x-user-reference')::boolean IS TRUE
    LOOP
        UPDATE platform_events e
           SET event_data = jsonb_set(e.event_data, ARRAY[v_ref.key], 'null'::jsonb)
         WHERE e.event_type = v_ref.event_type
           AND e.event_data @> jsonb_build_object(v_ref.key, p_user_id);
        GET DIAGNOSTICS v_more = ROW_COUNT;
        v_count := v_count + v_more;
    END LOOP;
    RETURN v_count;
END;
$$;

GRANT SELECT, INSERT ON user_erasure_audit TO platform_events_pipeline;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_erasure_queue TO platform_events_pipeline;
GRANT EXECUTE ON FUNCTION platform_events_scrub_json(jsonb, text) TO platform_events_pipeline;
