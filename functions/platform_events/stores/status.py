"""The pipeline's health in numbers (``jobs/status.py``): backlog, processing and syncs, failures,
sink health, durable batches in flight, and the ingest dead letter by reason."""

from __future__ import annotations

from platform_events.db import Conn
from platform_events.queries import sql
from platform_events.stores import Row


def backlog(conn: Conn) -> Row | None:
    """Pending, processing and failed counts, the oldest pending age and the erasure queue."""
    return conn.execute(sql("jobs_status_backlog")).fetchone()


def processing(conn: Conn) -> list[Row]:
    """Events received in the last hour per status, with their average retries."""
    return [dict(r) for r in conn.execute(sql("jobs_status_processing"))]


def syncs(conn: Conn) -> list[Row]:
    """Sync performance per warehouse over the last day."""
    return [dict(r) for r in conn.execute(sql("jobs_status_syncs"))]


def failures(conn: Conn, limit: int) -> list[Row]:
    """Failed events grouped by type and error, most frequent first, at most ``limit`` groups."""
    return [dict(r) for r in conn.execute(sql("jobs_status_failures"), {"limit": limit})]


def sink_health(conn: Conn) -> list[Row]:
    """Per warehouse that ever failed: whether streaming can write to it now, since when not."""
    return [dict(r) for r in conn.execute(sql("jobs_status_sink_health"))]


def delivery_batches(conn: Conn) -> Row | None:
    """The durable batches in flight: leased, held, expired, held events, highest attempt."""
    return conn.execute(sql("jobs_status_delivery_batches")).fetchone()


def dead_letter_counts(conn: Conn) -> list[Row]:
    """Messages ingest rejected (30 days kept), by reason code and field."""
    return [dict(r) for r in conn.execute(sql("dead_letter_counts"))]
