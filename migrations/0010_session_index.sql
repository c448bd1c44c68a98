-- 0010: index of events by session, for streaming's session facts (first seen, index in session).
--
-- Enrichment numbers each event within its session and needs the session's first event: one
-- statement per batch reads exactly the batch's sessions through this index (an index-only scan:
-- occurred_at and event_id are in it). Sessionless events (server-side emits) are not indexed.
CREATE INDEX platform_events_session_idx ON platform_events (session_id, occurred_at, event_id)
    WHERE session_id IS NOT NULL;
