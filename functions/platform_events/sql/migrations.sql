-- Statements of the migrator (platform_events.migrate).

-- name: migration_lock
SELECT pg_advisory_lock(%(lock_id)s);

-- name: migration_unlock
SELECT pg_advisory_unlock(%(lock_id)s);

-- name: schema_migrations_create
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: schema_migrations_exists
SELECT to_regclass('schema_migrations') IS NOT NULL AS present;

-- name: schema_migrations_applied
SELECT version, checksum FROM schema_migrations ORDER BY version;

-- name: schema_migrations_record
INSERT INTO schema_migrations (version, name, checksum) VALUES (%(version)s, %(name)s, %(checksum)s);
