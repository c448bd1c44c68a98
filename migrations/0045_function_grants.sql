-- 0045: every function executable only by the roles meant to call it; functions created later start closed.
--
-- PostgreSQL grants EXECUTE to PUBLIC on every new function. 0006 revoked it from the functions
-- of that day and ran ALTER DEFAULT PRIVILEGES IN SCHEMA public ... REVOKE, which cannot take
-- away a global default (per-schema defaults only add to it: "Default privileges that are
-- specified per-schema are added to whatever the global default privileges are for the
-- particular object type", ALTER DEFAULT PRIVILEGES in the PostgreSQL manual), so every function
-- of 0020-0039 was executable by any role: quarantine_platform_events (SECURITY DEFINER) let a
-- role with no grant plant events for any user, and the partition DDL functions were open too.
-- The global default of the migration owner closes every function it creates from now on; the
-- roles each function is meant for are listed in tests/intended_grants.py, which
-- tests/integration/test_grants.py compares with the database.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- 0006 granted the pipeline every function of that day; these are the bodies of the emit
-- functions (they run as the owner inside them) and ingest's door, not the jobs' business.
-- emit_platform_events(jsonb) stays: quarantine promotion runs through it.
REVOKE EXECUTE ON FUNCTION
    emit_platform_event(text, jsonb, text, text, jsonb, timestamptz, uuid),
    platform_event_check(text, jsonb, jsonb, timestamptz, text, text),
    platform_events_caller_is_trusted(),
    platform_events_effective_user(text, boolean),
    platform_events_store(text, jsonb, text, text, jsonb, timestamptz, uuid),
    platform_events_try_uuid(text),
    platform_events_try_timestamptz(text),
    quarantine_platform_events(jsonb)
    FROM platform_events_pipeline;

-- The user an event written by a trigger on an application table belongs to: the row's own user,
-- except that an untrusted caller (the application role) whose session names its user
-- (platform_events.user_id) may not attribute the event to anyone else (42501, as
-- emit_platform_event). Application triggers call it around the row's user column
-- (migrations/examples).
CREATE FUNCTION platform_events_row_user(p_row_user text, p_column text DEFAULT 'user_id')
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
AS $$
DECLARE
    v_session_user text := nullif(current_setting('platform_events.user_id', true), '');
BEGIN
    IF v_session_user IS NOT NULL AND p_row_user IS DISTINCT FROM v_session_user
       AND NOT platform_events_caller_is_trusted() THEN
        -- The value itself stays out of the message: error text reaches logs.
        RAISE EXCEPTION '% does not match the session user (platform_events.user_id)', p_column
            USING ERRCODE = '42501', COLUMN = p_column;
    END IF;
    RETURN p_row_user;
END;
$$;
REVOKE ALL ON FUNCTION platform_events_row_user(text, text) FROM PUBLIC;
