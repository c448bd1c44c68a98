-- 0047: the forged-user error names the field, not the value: error text reaches logs and tracebacks.
--
-- 0003's platform_events_effective_user put the forged user id in its message. Logs keep an
-- error's SQLSTATE and field only (platform_events/logs.py), but a caller's own logging of the
-- exception text would have carried a user id; the message now holds no value.

CREATE OR REPLACE FUNCTION platform_events_effective_user(p_user_id text, p_trusted boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
BEGIN
    IF p_trusted THEN
        RETURN p_user_id;
    END IF;
    IF p_user_id IS NOT NULL AND p_user_id IS DISTINCT FROM v_session_user THEN
        RAISE EXCEPTION 'user_id does not match the session user (platform_events.user_id)'
            USING ERRCODE = '42501', COLUMN = 'user_id';
    END IF;
    RETURN v_session_user;
END;
$$;
