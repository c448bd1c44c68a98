-- 0006: least-privilege roles, row-level security, and who may execute which function.
--
--   platform_events_app       the application: emits as the user its session names, reads only
--                             that user's events (RLS); no processing state, no other tables.
--   platform_events_ingest    trusted emitters (the ingest function, the batching client): emit for
--                             any user; read nothing.
--   platform_events_pipeline  the scheduled jobs: claim, acknowledge, aggregate, retain, erase.
--   platform_events_analyst   dashboards: real-time metrics and aggregations only.
-- Group roles only (NOLOGIN): grant them to the login roles of each deployment.

DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['platform_events_app', 'platform_events_ingest',
                                  'platform_events_pipeline', 'platform_events_analyst']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
-- Functions added by later migrations are not executable by everyone either.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO platform_events_app, platform_events_ingest,
                                platform_events_pipeline, platform_events_analyst;

-- Application
GRANT SELECT ON platform_events, event_schemas TO platform_events_app;
GRANT EXECUTE ON FUNCTION
    emit_platform_event(text, jsonb, text, text, jsonb, timestamptz, uuid),
    emit_platform_events(jsonb)
    TO platform_events_app, platform_events_ingest;
GRANT SELECT ON event_schemas TO platform_events_ingest;

-- Pipeline: everything the jobs touch, nothing structural.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    platform_events, platform_event_delivery, platform_metrics_realtime, event_aggregations,
    warehouse_sync_status, event_schemas
    TO platform_events_pipeline;
GRANT SELECT ON platform_events_with_status, platform_event_partitions, schema_migrations
    TO platform_events_pipeline;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO platform_events_pipeline;

-- Analyst
GRANT SELECT ON platform_metrics_realtime, event_aggregations, event_schemas TO platform_events_analyst;

-- The monitoring view reads with the caller's rights, so RLS applies through it too.
ALTER VIEW platform_events_with_status SET (security_invoker = true);

-- Row-level security on the event store. The application sets the user of each request with
--   SET LOCAL platform_events.user_id = '<id>'   (or set_config(..., true))
-- and sees only that user's events; with no user set it sees nothing.
ALTER TABLE platform_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_reads_own_events ON platform_events
    FOR SELECT TO platform_events_app
    USING (user_id IS NOT NULL AND user_id = nullif(current_setting('platform_events.user_id', true), ''));
CREATE POLICY pipeline_manages_events ON platform_events
    FOR ALL TO platform_events_pipeline
    USING (true) WITH CHECK (true);

ALTER TABLE platform_event_delivery ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_manages_delivery ON platform_event_delivery
    FOR ALL TO platform_events_pipeline
    USING (true) WITH CHECK (true);

-- Partition maintenance runs DDL: it executes with the schema owner's rights, for the pipeline.
ALTER FUNCTION ensure_platform_event_partitions(integer, integer) SECURITY DEFINER;
