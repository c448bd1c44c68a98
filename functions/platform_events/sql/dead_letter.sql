-- Statements of platform_events.ingest.deadletter: the ingest dead letter, counted and listed.

-- name: dead_letter_counts
SELECT reason_code, reason_field, count(*)::bigint AS messages, max(received_at) AS last_received_at
  FROM platform_events_dead_letter
 GROUP BY reason_code, reason_field
 ORDER BY messages DESC, reason_code, reason_field;

-- name: dead_letter_list
-- Newest first; the message as stored (ASCII JSON text, cut with a marker past 32 KB).
SELECT id, received_at, source, route, reason_code, reason_field, reason, message_id,
       message_bytes, truncated, message
  FROM platform_events_dead_letter
 WHERE (%(reason)s::text IS NULL OR reason_code = %(reason)s::text)
 ORDER BY received_at DESC, id DESC
 LIMIT %(limit)s;
