"""``ingest_events``: Segment's HTTP tracking API in front of the event store.

``segment`` maps Segment messages to events (pure), ``geo`` resolves and minimises the client IP,
``handler`` is the HTTP request: authentication, decoding, limits, writing, answering.
"""
