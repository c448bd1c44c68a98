-- 0041: the ingest dead letter: every message ingest_events rejected, with why, from where and when.
--
-- Segment's SDKs ignore per-message answers, so a rejected message would otherwise vanish: like
-- Snowplow's failed events it is kept here for an operator (`platform-events rejected`, status),
-- bounded in size, purged after 30 days by the daily retention job, erased and exported with the
-- user it carries (userId or anonymousId). `source` is the write key's id (a hash prefix, never
-- the key). The message is its JSON as ASCII text: \u0000 and lone surrogates, which no jsonb or
-- text value can hold, stay visible as escapes.

CREATE TABLE platform_events_dead_letter (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    source        text        NOT NULL CHECK (length(source) <= 64),
    route         text        NOT NULL CHECK (length(route) <= 20),
    reason_code   text        NOT NULL CHECK (length(reason_code) <= 64),
    reason_field  text        CHECK (length(reason_field) <= 255),
    reason        text        NOT NULL CHECK (length(reason) <= 1000),
    message_id    text        CHECK (length(message_id) <= 255),
    user_id       text        CHECK (length(user_id) <= 255),
    anonymous_id  text        CHECK (length(anonymous_id) <= 255),
    message       text        NOT NULL CHECK (octet_length(message) <= 33000),
    message_bytes integer     NOT NULL CHECK (message_bytes >= 0),
    truncated     boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE platform_events_dead_letter IS
    'Messages ingest_events rejected, with the reason and the write key id; purged after 30 days.';
CREATE INDEX platform_events_dead_letter_received_idx ON platform_events_dead_letter (received_at);
CREATE INDEX platform_events_dead_letter_reason_idx ON platform_events_dead_letter (reason_code, received_at);
CREATE INDEX platform_events_dead_letter_user_idx ON platform_events_dead_letter (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX platform_events_dead_letter_anonymous_idx ON platform_events_dead_letter (anonymous_id)
    WHERE anonymous_id IS NOT NULL;

-- Keeps a JSON array of rejected messages ({source, route, code, field, reason, message_id,
-- user_id, anonymous_id, message, message_bytes, truncated}); every text is cut to its column's
-- bound here, so a dead letter never fails on a size. Returns how many rows it kept.
CREATE FUNCTION dead_letter_platform_events(p_rows jsonb)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) > 50000 THEN
        RAISE EXCEPTION 'dead_letter_platform_events expects a JSON array of at most 50000 rows'
            USING ERRCODE = '22023', COLUMN = 'rows';
    END IF;
    INSERT INTO platform_events_dead_letter (source, route, reason_code, reason_field, reason,
                                             message_id, user_id, anonymous_id, message,
                                             message_bytes, truncated)
    SELECT left(coalesce(r ->> 'source', 'unknown'), 64), left(coalesce(r ->> 'route', 'batch'), 20),
           left(coalesce(r ->> 'code', 'rejected'), 64), left(r ->> 'field', 255),
           left(coalesce(r ->> 'reason', ''), 1000), left(r ->> 'message_id', 255),
           left(r ->> 'user_id', 255), left(r ->> 'anonymous_id', 255),
           left(coalesce(r ->> 'message', ''), 32768),
           greatest(coalesce((r ->> 'message_bytes')::integer, 0), 0),
           coalesce((r ->> 'truncated')::boolean, false)
    FROM jsonb_array_elements(p_rows) AS r;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

CREATE FUNCTION purge_platform_events_dead_letter(p_older_than interval DEFAULT interval '30 days')
RETURNS integer
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    DELETE FROM platform_events_dead_letter WHERE received_at < now() - p_older_than;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Only the pipeline reads and manages the dead letter; ingest writes through the function alone.
REVOKE ALL ON platform_events_dead_letter FROM PUBLIC;
REVOKE ALL ON FUNCTION dead_letter_platform_events(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION purge_platform_events_dead_letter(interval) FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON platform_events_dead_letter TO platform_events_pipeline;
GRANT EXECUTE ON FUNCTION dead_letter_platform_events(jsonb) TO platform_events_ingest, platform_events_pipeline;
GRANT EXECUTE ON FUNCTION purge_platform_events_dead_letter(interval) TO platform_events_pipeline;
