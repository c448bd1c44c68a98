-- Statements of `platform-events catalog apply` (platform_events.catalog_apply): the tracking
-- plan's files written into event_schemas. The trigger event_schemas_keep_rules keeps each
-- row's typed rules (platform_event_rules) in step with its json_schema.

-- name: catalog_stored
-- Retention as months and days: how the rules compare it with a file's "N days|months|years".
SELECT event_type, version, category,
       (extract(year FROM retention) * 12 + extract(month FROM retention))::integer AS retention_months,
       extract(day FROM retention)::integer AS retention_days,
       owner, description, is_active, revision, json_schema
  FROM event_schemas
 ORDER BY event_type, version;

-- name: catalog_insert
INSERT INTO event_schemas (event_type, version, category, json_schema, retention, is_active,
                           description, owner)
VALUES (%(event_type)s, %(version)s, %(category)s, %(json_schema)s, %(retention)s::interval,
        %(is_active)s, %(description)s, %(owner)s);

-- name: catalog_edit
UPDATE event_schemas
   SET json_schema = %(json_schema)s, revision = revision + 1, updated_at = now()
 WHERE event_type = %(event_type)s AND version = %(version)s;

-- name: catalog_set_active
UPDATE event_schemas
   SET is_active = %(is_active)s, updated_at = now()
 WHERE event_type = %(event_type)s AND version = %(version)s;

-- name: catalog_describe
UPDATE event_schemas
   SET description = %(description)s, owner = %(owner)s, updated_at = now()
 WHERE event_type = %(event_type)s AND version = %(version)s;

-- name: catalog_set_retention
-- Every version of the type: retention is the type's (the next retention run enforces it).
UPDATE event_schemas
   SET retention = %(retention)s::interval, updated_at = now()
 WHERE event_type = %(event_type)s;

-- name: catalog_events_refused
-- Stored events of one version that its (just edited) rules refuse, judged by the store's own
-- rule functions, so "compatible" means what the store enforces. An edit the pure rules accept
-- can still meet stored data: an added optional field that events already carry, undeclared, in
-- another shape (additionalProperties is true). Reads the type's events (platform_events_type_idx).
SELECT e.event_id, b.key, b.kind
  FROM platform_events e
 CROSS JOIN LATERAL (
       SELECT r.key,
              platform_events_rule_broken(e.event_data -> r.key, jsonb_typeof(e.event_data -> r.key),
                                          r.required_at IS NOT NULL, r.want_type, r.enum_values,
                                          r.minimum, r.maximum, r.max_length) AS kind
         FROM platform_event_rules r
        WHERE r.event_type = e.event_type AND r.version = e.schema_version) AS b
 WHERE e.event_type = %(event_type)s AND e.schema_version = %(version)s AND b.kind IS NOT NULL
 LIMIT 3;
