-- examples/0002: an application's users table, wired into enrichment and GDPR erasure.
-- Applied only with `platform-events migrate --examples` (make demo applies it). It is the shape
-- the default ENRICH_USERS_QUERY reads (id, role, created_at), and deleting a user queues the
-- erasure of their events (install_user_erasure_trigger, migration 0022).

CREATE TABLE IF NOT EXISTS users (
    id           text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    role         text        NOT NULL CHECK (role IN ('client', 'freelancer', 'admin')),
    email        text        UNIQUE,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'Example application users: enrichment reads id, role, created_at; a delete queues erasure.';

SELECT install_user_erasure_trigger('users');

-- The pipeline reads only what enrichment needs: never the email or the name.
GRANT SELECT (id, role, created_at) ON users TO platform_events_pipeline;
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO platform_events_app;
