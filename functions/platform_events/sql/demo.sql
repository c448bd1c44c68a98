-- Statements of platform_events.demo: the demo's application users and its stored-events report.

-- name: demo_upsert_users
-- The simulated marketplace's users in the example users table (migrations/examples/0002).
INSERT INTO users (id, role, created_at)
SELECT * FROM unnest(%(ids)s::text[], %(roles)s::text[], %(created)s::timestamptz[])
ON CONFLICT (id) DO NOTHING;

-- name: demo_stored_by_type
SELECT e.event_category, e.event_type, coalesce(d.status, 'delivered') AS status, count(*) AS n
FROM platform_events e
LEFT JOIN platform_event_delivery d USING (event_id, received_at)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
