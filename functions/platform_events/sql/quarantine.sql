-- Statements of platform_events.ingest.quarantine: the ingest quarantine, read and promoted.

-- name: quarantine_summary
-- Held events by type and reason, and whether the type has an active schema by now.
SELECT q.event_type,
       q.reason,
       count(*)::integer AS events,
       min(q.received_at) AS first_received_at,
       max(q.received_at) AS last_received_at,
       EXISTS (SELECT 1 FROM event_schemas s
               WHERE s.event_type = q.event_type AND s.is_active) AS promotable
FROM platform_events_quarantine q
WHERE %(event_type)s::text IS NULL OR q.event_type = %(event_type)s::text
GROUP BY q.event_type, q.reason
ORDER BY events DESC, q.event_type, q.reason;

-- name: quarantine_promote
SELECT event_type, accepted, duplicate, rejected, last_received_at, last_event_id
FROM promote_quarantined_events(%(event_type)s::text, %(limit)s::integer,
                                %(after)s::timestamptz, %(after_id)s::uuid);
